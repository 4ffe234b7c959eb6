#include "ionmap/io/results_store.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap {
namespace {

// Owns one HDF5 identifier and closes it with the right function.
class Hid {
 public:
  Hid() = default;
  Hid(hid_t id, herr_t (*closer)(hid_t), const std::string& what) : id_(id), closer_(closer) {
    if (id < 0) throw ProcessingError("HDF5 could not " + what);
  }
  ~Hid() { reset(); }
  Hid(Hid&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  operator hid_t() const { return id_; }  // NOLINT: handles are used where hid_t is expected
  herr_t close() {
    herr_t r = 0;
    if (id_ >= 0 && closer_) r = closer_(id_);
    id_ = -1;
    return r;
  }

 private:
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }
  hid_t id_ = -1;
  herr_t (*closer_)(hid_t) = nullptr;
};

void check(herr_t r, const std::string& what) {
  if (r < 0) throw ProcessingError("HDF5 could not " + what);
}

Hid stringType() {
  Hid t(H5Tcopy(H5T_C_S1), H5Tclose, "create a string type");
  check(H5Tset_size(t, H5T_VARIABLE), "set string size");
  check(H5Tset_cset(t, H5T_CSET_UTF8), "set string encoding");
  return t;
}

void attrString(hid_t obj, const std::string& name, const std::string& value) {
  Hid type = stringType();
  Hid space(H5Screate(H5S_SCALAR), H5Sclose, "create a dataspace");
  Hid attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
           "create attribute '" + name + "'");
  const char* p = value.c_str();
  check(H5Awrite(attr, type, &p), "write attribute '" + name + "'");
}

void attrStrings(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  Hid type = stringType();
  const hsize_t n = values.size();
  Hid space(H5Screate_simple(1, &n, nullptr), H5Sclose, "create a dataspace");
  Hid attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
           "create attribute '" + name + "'");
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  check(H5Awrite(attr, type, ptrs.data()), "write attribute '" + name + "'");
}

Hid group(hid_t parent, const std::string& name, const std::string& nx_class) {
  Hid g(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
        "create group '" + name + "' (is the name used twice?)");
  attrString(g, "NX_class", nx_class);
  return g;
}

// Text datasets carry units "n/a": every dataset has a units attribute, and text has none.
constexpr const char* kTextUnits = "n/a";

void dsString(hid_t parent, const std::string& name, const std::string& value) {
  Hid type = stringType();
  Hid space(H5Screate(H5S_SCALAR), H5Sclose, "create a dataspace");
  Hid ds(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
         H5Dclose, "create dataset '" + name + "'");
  const char* p = value.c_str();
  check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "write dataset '" + name + "'");
  attrString(ds, "units", kTextUnits);
}

void dsStrings(hid_t parent, const std::string& name, const std::vector<std::string>& values) {
  Hid type = stringType();
  const hsize_t n = values.size();
  Hid space(H5Screate_simple(1, &n, nullptr), H5Sclose, "create a dataspace");
  Hid ds(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
         H5Dclose, "create dataset '" + name + "'");
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n) {
    check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
          "write dataset '" + name + "'");
  }
  attrString(ds, "units", kTextUnits);
}

void dsScalar(hid_t parent, const std::string& name, double value, const std::string& units) {
  Hid space(H5Screate(H5S_SCALAR), H5Sclose, "create a dataspace");
  Hid ds(H5Dcreate2(parent, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                    H5P_DEFAULT),
         H5Dclose, "create dataset '" + name + "'");
  check(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value),
        "write dataset '" + name + "'");
  attrString(ds, "units", units);
}

// An N-d numeric array, chunked and deflate-compressed when large.
Hid dsArray(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims,
            hid_t file_type, hid_t mem_type, const void* data, const std::string& units) {
  const int rank = static_cast<int>(dims.size());
  hsize_t total = 1;
  for (auto d : dims) total *= d;
  Hid space(H5Screate_simple(rank, dims.data(), nullptr), H5Sclose, "create a dataspace");
  Hid plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "create dataset properties");
  if (total >= 4096 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    std::vector<hsize_t> chunk(dims);
    for (auto& c : chunk) c = std::min<hsize_t>(c, 256);
    check(H5Pset_chunk(plist, rank, chunk.data()), "set chunking");
    check(H5Pset_shuffle(plist), "set shuffle filter");
    check(H5Pset_deflate(plist, 4), "set deflate filter");
  }
  Hid ds(H5Dcreate2(parent, name.c_str(), file_type, space, H5P_DEFAULT, plist, H5P_DEFAULT),
         H5Dclose, "create dataset '" + name + "'");
  if (total) {
    check(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
          "write dataset '" + name + "'");
  }
  attrString(ds, "units", units);
  return ds;
}

Hid dsVector(hid_t parent, const std::string& name, const std::vector<double>& v,
             const std::string& units) {
  return dsArray(parent, name, {v.size()}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v.data(), units);
}

// Writes grid datasets and pixel-centre axes into an NXdata group.
void writeGrid(hid_t g, const Grid& grid) {
  const std::string len_unit = grid.calibrated ? "um" : "pixel";
  std::vector<double> x(grid.width), y(grid.height);
  for (int i = 0; i < grid.width; ++i) x[i] = grid.origin_x + (i + 0.5) * grid.pixel_x;
  for (int j = 0; j < grid.height; ++j) y[j] = grid.origin_y + (j + 0.5) * grid.pixel_y;
  Hid dx = dsVector(g, "x", x, len_unit);
  attrString(dx, "long_name", "x (pixel centres, unrotated grid frame)");
  Hid dy = dsVector(g, "y", y, len_unit);
  attrString(dy, "long_name", "y (pixel centres, unrotated grid frame; rows run downwards)");
  dsVector(g, "pixel_size", {grid.pixel_x, grid.pixel_y}, len_unit);
  dsVector(g, "origin", {grid.origin_x, grid.origin_y}, len_unit);
  dsScalar(g, "rotation", grid.rotation, "rad");
  attrString(g, "calibrated", grid.calibrated ? "true" : "false");
}

void writeMetadata(hid_t parent, const Metadata& md) {
  if (md.empty()) return;
  Hid g = group(parent, "metadata", "NXcollection");
  std::vector<std::string> keys, values;
  for (const auto& [k, v] : md) keys.push_back(k), values.push_back(v);
  dsStrings(g, "keys", keys);
  dsStrings(g, "values", values);
}

void writeKeyValueGroup(hid_t parent, const std::string& name, const std::string& nx_class,
                        const KeyValues& kv, const KeyValues& units = {}) {
  Hid g = group(parent, name, nx_class);
  std::map<std::string, int> seen;
  for (const auto& [key, v] : kv) {
    // Dataset names: '/' separates HDF5 paths, and a key may repeat (a stage noting two files).
    std::string k = key.empty() ? "value" : key;
    std::replace(k.begin(), k.end(), '/', '_');
    if (const int n = ++seen[k]; n > 1) k += "_" + std::to_string(n);
    Hid type = stringType();
    Hid space(H5Screate(H5S_SCALAR), H5Sclose, "create a dataspace");
    Hid ds(H5Dcreate2(g, k.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
           "create dataset '" + k + "' in '" + name + "'");
    const char* p = v.c_str();
    check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "write '" + k + "'");
    std::string u = kTextUnits;
    for (const auto& [uk, uv] : units) {
      if (uk == k && !uv.empty()) u = uv;
    }
    attrString(ds, "units", u);
  }
}

}  // namespace

// The file is built in memory (HDF5's core driver, no backing store) and written to disk in
// one piece by close(): a write that fails (a full disk) is then an error of ours, with the
// file's name, and never leaves HDF5 holding a half-flushed file that its exit-time cleanup
// crashes on.
struct ResultsWriter::Impl {
  std::filesystem::path path;
  Hid file;
  Hid entry;
};

ResultsWriter::ResultsWriter(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become exceptions, not stderr dumps
  impl_->path = path;
  {
    std::ofstream probe(path, std::ios::binary | std::ios::trunc);  // fail early: no folder, …
    if (!probe) throw InputError(path.string(), "cannot create the HDF5 results file");
  }
  Hid fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "create a file access list");
  check(H5Pset_fapl_core(fapl, 1 << 20, 0), "set the in-memory file driver");
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (f < 0) throw InputError(path.string(), "cannot create the HDF5 results file");
  impl_->file = Hid(f, H5Fclose, "create file");
  attrString(impl_->file, "NX_class", "NXroot");
  attrString(impl_->file, "file_name", path.filename().string());
  attrString(impl_->file, "creator", "ionmap");
  attrString(impl_->file, "default", "entry");
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  attrString(impl_->file, "HDF5_Version", fmt::format("{}.{}.{}", maj, min, rel));
  impl_->entry = group(impl_->file, "entry", "NXentry");
}

ResultsWriter::~ResultsWriter() = default;

void ResultsWriter::writeRun(const RunRecord& run) {
  hid_t e = impl_->entry;
  attrString(impl_->file, "creator_version", run.version);
  attrString(impl_->file, "file_time", run.end_time);
  dsString(e, "title", run.pipeline_name);
  dsString(e, "start_time", run.start_time);
  dsString(e, "end_time", run.end_time);
  dsScalar(e, "duration", run.duration_s, "s");
  dsString(e, "verdict",
           run.failed_checks.empty()
               ? "fit for use: every result passed its own checks"
               : fmt::format("NOT fit for use: {} failed check(s), see failed_checks",
                             run.failed_checks.size()));
  dsStrings(e, "failed_checks", run.failed_checks);
  if (!run.stopped_after.empty()) dsString(e, "stopped_after", run.stopped_after);
  {
    Hid type = stringType();
    Hid space(H5Screate(H5S_SCALAR), H5Sclose, "create a dataspace");
    Hid ds(H5Dcreate2(e, "program_name", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           H5Dclose, "create program_name");
    const char* p = run.program.c_str();
    check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "write program_name");
    attrString(ds, "units", kTextUnits);
    attrString(ds, "version", run.version);
    attrString(ds, "configuration", run.git_commit);
  }
  {
    Hid g = group(e, "program", "NXnote");
    dsString(g, "name", run.program);
    dsString(g, "version", run.version);
    dsString(g, "git_commit", run.git_commit);
    dsString(g, "build_type", run.build_type);
    dsString(g, "compiler", run.compiler);
    dsString(g, "host", run.host);
    dsString(g, "command_line", run.command_line);
    dsScalar(g, "threads", run.threads, "1");
  }
  {
    Hid g = group(e, "pipeline", "NXnote");
    dsString(g, "file_name", run.pipeline_file);
    dsString(g, "type", "application/yaml");
    dsString(g, "data", run.pipeline_text);
    dsStrings(g, "overrides", run.overrides);
  }
  {
    Hid g = group(e, "inputs", "NXcollection");
    for (const auto& in : run.inputs) {
      Hid n = group(g, in.name, "NXnote");
      dsString(n, "file_name", in.path);
      dsString(n, "sha256", in.sha256);
      dsScalar(n, "size", static_cast<double>(in.size_bytes), "byte");
      attrString(n, "sha256", in.sha256);
    }
  }
  for (const auto& p : run.processes) {
    Hid g = group(e, fmt::format("process_{:02d}_{}", p.index, p.id), "NXprocess");
    dsString(g, "program", run.program);
    dsString(g, "version", run.version);
    dsString(g, "git_commit", run.git_commit);
    dsScalar(g, "sequence_index", p.index, "1");
    dsString(g, "date", p.end_time);
    dsString(g, "stage", p.stage);
    dsString(g, "stage_id", p.id);
    dsString(g, "plugin", p.plugin);
    dsString(g, "start_time", p.start_time);
    dsString(g, "end_time", p.end_time);
    dsScalar(g, "duration", p.duration_s, "s");
    dsScalar(g, "threads", p.threads, "1");
    writeKeyValueGroup(g, "parameters", "NXparameters", p.parameters, p.parameter_units);
    writeKeyValueGroup(g, "reads", "NXcollection", p.reads);
    writeKeyValueGroup(g, "writes", "NXcollection", p.writes);
    dsStrings(g, "warnings", p.warnings);
    dsStrings(g, "failed_checks", p.failed_checks);
    if (!p.notes.empty()) writeKeyValueGroup(g, "notes", "NXnote", p.notes);
  }
}

void ResultsWriter::writeMap(const std::string& name, const Map& map,
                             const std::string& written_by) {
  map.checkConsistent();
  Hid g = group(impl_->entry, name, "NXdata");
  attrString(g, "signal", "data");
  attrStrings(g, "axes", {"y", "x"});
  attrString(g, "written_by", written_by);
  attrString(g, "title", map.name);
  const std::vector<hsize_t> dims{static_cast<hsize_t>(map.height()),
                                  static_cast<hsize_t>(map.width())};
  // Invalid pixels are stored as NaN in `data` as well as 0 in `mask`, so that tools that
  // ignore the mask still don't plot them as values.
  std::vector<double> v = map.values.values();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!map.mask[i]) v[i] = std::nan("");
  }
  Hid d = dsArray(g, "data", dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v.data(),
                  map.unit.empty() ? "1" : map.unit);
  attrString(d, "long_name", map.unit.empty() ? map.name : map.name + " (" + map.unit + ")");
  Hid m = dsArray(g, "mask", dims, H5T_STD_U8LE, H5T_NATIVE_UINT8, map.mask.data(), "1");
  attrString(m, "long_name", "validity mask (1 = valid)");
  writeGrid(g, map.grid);
  writeMetadata(g, map.metadata);
}

void ResultsWriter::writeLabelMap(const std::string& name, const LabelMap& labels,
                                  const std::string& written_by) {
  labels.checkConsistent();
  Hid g = group(impl_->entry, name, "NXdata");
  attrString(g, "signal", "labels");
  attrStrings(g, "axes", {"y", "x"});
  attrString(g, "written_by", written_by);
  const std::vector<hsize_t> dims{static_cast<hsize_t>(labels.height()),
                                  static_cast<hsize_t>(labels.width())};
  Hid d = dsArray(g, "labels", dims, H5T_STD_I32LE, H5T_NATIVE_INT32, labels.labels.data(), "1");
  attrString(d, "long_name", "region label (0 = none)");
  writeGrid(g, labels.grid);
  writeMetadata(g, labels.metadata);
}

void ResultsWriter::writeOrientationMap(const std::string& name, const OrientationMap& o,
                                        const std::string& written_by) {
  o.checkConsistent();
  Hid g = group(impl_->entry, name, "NXdata");
  attrString(g, "signal", "phase");
  attrStrings(g, "axes", {"y", "x"});
  attrString(g, "written_by", written_by);
  attrString(g, "ionmap_type", "orientation_map");
  if (!o.grid_type.empty()) attrString(g, "grid_type", o.grid_type);
  const std::vector<hsize_t> dims{static_cast<hsize_t>(o.height()),
                                  static_cast<hsize_t>(o.width())};
  const std::pair<const char*, const Image<double>*> angles[] = {
      {"phi1", &o.phi1}, {"Phi", &o.Phi}, {"phi2", &o.phi2}};
  for (const auto& [key, img] : angles) {
    Hid d = dsArray(g, key, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, img->data(), "rad");
    attrString(d, "long_name",
               std::string("Bunge Euler angle ") + key + " (ZXZ, sample to crystal frame)");
  }
  Hid ph = dsArray(g, "phase", dims, H5T_STD_I32LE, H5T_NATIVE_INT32, o.phase.data(), "1");
  attrString(ph, "long_name", "phase id (see phase_ids, phase_names; 0 = not indexed)");
  Hid q = dsArray(g, "quality", dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, o.quality.data(), "1");
  attrString(q, "long_name", o.quality_name.empty() ? "indexing quality" : o.quality_name);
  std::vector<double> ids;
  std::vector<std::string> names, laue;
  for (const auto& p : o.phases) {
    ids.push_back(p.id);
    names.push_back(p.name);
    laue.push_back(laueClassName(p.laue));
  }
  dsVector(g, "phase_ids", ids, "1");
  dsStrings(g, "phase_names", names);
  dsStrings(g, "phase_laue_classes", laue);
  dsScalar(g, "unindexed_points", static_cast<double>(o.unindexed), "1");
  writeGrid(g, o.grid);
  writeMetadata(g, o.metadata);
}

namespace {

// A table of named quantities (Table::addQuantity columns take their unit from the row):
// NeXus style, each quantity is its own datasets with its true units — <name> (the value
// column), <name>_errors (standard_error), <name>_<column> for the other numeric columns —
// scalar for a name on one row, 1-D over its rows when the name repeats (e.g. the points of a
// cost profile). The text columns stay columns over all rows.
//
// An HDF5 link name for a quantity: '/' is not allowed, and a name may only be used once in its
// group.
std::string quantityName(std::string name, std::set<std::string>& used) {
  for (char& ch : name)
    if (ch == '/') ch = '_';
  if (name.empty() || name == "." || name == "..") name = "quantity";
  std::string unique = name;
  for (int k = 2; used.count(unique); ++k) unique = name + "_" + std::to_string(k);
  used.insert(unique);
  return unique;
}

void writeQuantityTable(hid_t g, const Table& table) {
  const Column& names = table.columns.front();
  const Column* units = nullptr;
  std::set<std::string> used;
  std::vector<std::string> order, quantities;
  for (const auto& c : table.columns) {
    if (c.is_text && c.name == "unit") units = &c;
    used.insert(c.name);
    if (!c.is_text) continue;
    dsStrings(g, c.name, c.texts);
    order.push_back(c.name);
  }
  // Rows of each name, in order of first appearance.
  std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
  for (std::size_t r = 0; r < table.rows(); ++r) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& gr) { return gr.first == names.texts[r]; });
    if (it == groups.end()) groups.push_back({names.texts[r], {}}), it = groups.end() - 1;
    it->second.push_back(r);
  }
  for (const auto& [label, rows] : groups) {
    const std::string name = quantityName(label, used);
    quantities.push_back(name);
    const std::string& row_unit = units->texts[rows.front()];
    for (const auto& r : rows) {
      if (units->texts[r] != row_unit)
        throw ProcessingError(fmt::format("table '{}': quantity '{}' has rows in '{}' and '{}'",
                                          table.name, label, row_unit, units->texts[r]));
    }
    for (const auto& c : table.columns) {
      if (c.is_text) continue;
      const std::string suffix = c.name == "value"            ? ""
                                 : c.name == "standard_error" ? "_errors"
                                                              : "_" + c.name;
      const std::string unit = c.unit_from_row ? row_unit : c.unit;
      std::vector<double> v;
      for (auto r : rows) v.push_back(c.numbers[r]);
      used.insert(name + suffix);
      Hid ds = rows.size() == 1 ? dsArray(g, name + suffix, {}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                          v.data(), unit.empty() ? "1" : unit)
                                : dsVector(g, name + suffix, v, unit.empty() ? "1" : unit);
      if (!suffix.empty()) continue;
      attrString(ds, "long_name", label);
      for (const auto& t : table.columns) {  // e.g. estimate: interval / lower bound / fixed
        if (t.is_text && &t != &names && &t != units && rows.size() == 1)
          attrString(ds, t.name, t.texts[rows.front()]);
      }
    }
  }
  attrStrings(g, "columns", order);
  attrStrings(g, "quantities", quantities);
}

}  // namespace

void ResultsWriter::writeTable(const std::string& name, const Table& table,
                               const std::string& written_by) {
  table.checkConsistent();
  Hid g = group(impl_->entry, name, "NXcollection");
  attrString(g, "written_by", written_by);
  if (!table.description.empty()) attrString(g, "description", table.description);
  if (table.hasQuantities()) {
    attrString(g, "ionmap_type", "quantities");
    writeQuantityTable(g, table);
    return;
  }
  attrString(g, "ionmap_type", "table");
  std::vector<std::string> order;
  for (const auto& c : table.columns) {
    order.push_back(c.name);
    if (c.is_text) {
      dsStrings(g, c.name, c.texts);
    } else {
      dsVector(g, c.name, c.numbers, c.unit.empty() ? "1" : c.unit);
    }
  }
  attrStrings(g, "columns", order);
}

void ResultsWriter::writeTransform(const std::string& name, const Transform2D& t,
                                   const std::string& written_by) {
  Hid g = group(impl_->entry, name, "NXtransformations");
  attrString(g, "written_by", written_by);
  attrString(g, "ionmap_type", "transform2d");
  attrString(g, "kind", Transform2D::kindName(t.kind()));
  const auto& m = t.matrix();
  const double lin[4] = {m[0], m[1], m[3], m[4]};
  Hid l = dsArray(g, "linear", {2, 2}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, lin, "1");
  attrString(l, "long_name", "linear part A of x' = A x + t (source to reference frame)");
  dsVector(g, "translation", {m[2], m[5]}, "um");
}

void ResultsWriter::writeCurveSet(const std::string& name, const CurveSet& curves,
                                  const std::string& written_by) {
  curves.checkConsistent();
  Hid g = group(impl_->entry, name, "NXcollection");
  attrString(g, "written_by", written_by);
  attrString(g, "ionmap_type", "curve_set");
  std::vector<double> x, y, offsets{0};
  for (const auto& c : curves.curves) {
    x.push_back(c.x);
    y.push_back(c.y);
    offsets.push_back(offsets.back() + (c.samples.empty() ? 0.0 : c.samples[0].size()));
  }
  dsVector(g, "x", x, "um");
  dsVector(g, "y", y, "um");
  Hid o = dsVector(g, "curve_offsets", offsets, "1");
  attrString(o, "long_name", "curve k is samples [offsets[k], offsets[k+1]) of each channel");
  for (std::size_t ch = 0; ch < curves.channels.size(); ++ch) {
    std::vector<double> all;
    for (const auto& c : curves.curves) {
      all.insert(all.end(), c.samples[ch].begin(), c.samples[ch].end());
    }
    dsVector(g, curves.channels[ch].name, all,
             curves.channels[ch].unit.empty() ? "1" : curves.channels[ch].unit);
  }
  writeMetadata(g, curves.metadata);
}

void ResultsWriter::writeSpectrumImage(const std::string& name, const SpectrumImage& spectra,
                                       const std::string& written_by) {
  Hid g = group(impl_->entry, name, "NXdata");
  attrString(g, "written_by", written_by);
  attrString(g, "ionmap_type", "spectrum_image");
  attrString(g, "signal", "pixel_spectrum");
  attrStrings(g, "axes", {"y", "x"});
  attrString(g, "note", "spectra stay in the input file; pixel_spectrum indexes them");
  std::vector<hsize_t> dims{static_cast<hsize_t>(spectra.grid.height),
                            static_cast<hsize_t>(spectra.grid.width)};
  if (spectra.pixel_spectrum.size() == dims[0] * dims[1]) {
    dsArray(g, "pixel_spectrum", dims, H5T_STD_I64LE, H5T_NATIVE_INT64,
            spectra.pixel_spectrum.data(), "1");
  }
  dsScalar(g, "spectrum_count", static_cast<double>(spectra.spectrumCount()), "1");
  writeGrid(g, spectra.grid);
  writeMetadata(g, spectra.metadata);
}

void ResultsWriter::close() {
  impl_->entry.close();
  check(H5Fflush(impl_->file, H5F_SCOPE_GLOBAL), "flush the results file");
  const ssize_t size = H5Fget_file_image(impl_->file, nullptr, 0);
  if (size < 0) throw ProcessingError("HDF5 could not report the size of the results file");
  std::vector<char> image(static_cast<std::size_t>(size));
  if (H5Fget_file_image(impl_->file, image.data(), image.size()) != size)
    throw ProcessingError("HDF5 could not copy the results file out of memory");
  check(impl_->file.close(), "close the results file");
  std::ofstream out(impl_->path, std::ios::binary | std::ios::trunc);
  out.write(image.data(), static_cast<std::streamsize>(image.size()));
  out.close();
  if (!out) {
    std::error_code ec;
    std::filesystem::remove(impl_->path, ec);  // nothing half-written stays behind
    throw InputError(impl_->path.string(),
                     fmt::format("cannot write the {} bytes of the results file (disk full or "
                                 "quota exceeded?)",
                                 image.size()));
  }
}

}  // namespace ionmap
