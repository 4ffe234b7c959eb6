// seccm-landings: a table of samples (a TDMS group read with `read` as: table, a long table) as
// one curve per landing of the droplet cell (landings.hpp); or a folder of one file per landing.
#include <fnmatch.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "ionmap/core/progress.hpp"
#include "ionmap/io/reader.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "seccm/landings.hpp"
#include "seccm/stages.hpp"

namespace ionmap::seccm {
namespace {

class LandingsStage final : public StageOf<LandingOptions, LandingsStage> {
 public:
  static const ParamSchema<LandingOptions>& schema() {
    using P = LandingOptions;
    static const auto s =
        ParamSchema<P>()
            .text("x", &P::x, "column of the x position (matched without its \"(unit)\" and case)")
            .text("y", &P::y, "column of the y position")
            .text("potential", &P::potential, "column of the applied potential")
            .text("current", &P::current, "column of the current")
            .text("time", &P::time, "column of the time or the time step; empty = sample index")
            .flag("time_is_increment", &P::time_is_increment,
                  "the time column holds each sample's time step (e.g. dt(s)), not the time")
            .text("z", &P::z, "column of the pipette's Z position, used when the table has it")
            .text("point", &P::point,
                  "column of a landing id per sample (long tables); empty = landings are runs of "
                  "samples at one position")
            .text("state", &P::state,
                  "column of the feedback state code; empty = every sample belongs to a landing")
            .integer("contact_state", &P::contact_state, Range::any(), "",
                     "with `state`: the code of the samples in contact (approach and retract "
                     "samples are left out)")
            .real("position_tolerance", &P::position_tolerance_um, Range::above(0), "um",
                  "a new landing begins where x or y moves by more than this")
            .integer("min_samples", &P::min_samples, Range::between(1, 1000000), "",
                     "landings with fewer samples are left out (and counted)")
            .text("files", &P::files,
                  "with a `folder`: the landing files in it (a pattern: * any text, ? one "
                  "character)")
            .text("file_position", &P::file_position,
                  "with a `folder`: the position in each file's name, \"x{x}_y{y}\" (um) or "
                  "\"r{row}_c{col}\" (with file_pitch); empty = the file's own x and y columns")
            .real("file_pitch", &P::file_pitch_um, Range::atLeast(0), "um",
                  "with {row} and {col} in file_position: the raster pitch");
    return s;
  }
  std::string name() const override { return "seccm-landings"; }
  std::string summary() const override {
    return "SECCM samples (TDMS group, long table) to one curve per landing: position, t, E, I";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::optionalIn("table", ItemKind::kTable,
                                 "one row per sample: x, y, potential, current (and time, Z, "
                                 "state)"),
            PortSpec::optionalInputFolder(
                "folder",
                "instead of a table: a folder of one file per landing (CSV, TDMS, ...: "
                "each one's samples), the position in its name or its columns"),
            PortSpec::out("curves", ItemKind::kCurveSet,
                          "one curve per landing: x, y (um); t (s), E (V), I (A), Z (um)")};
  }
  void preflight(Preflight& pf) const override {
    if (std::string why; !params().IsValid(&why)) pf.fail(why);
    const bool folder = !pf.readsFile("folder").empty();
    const bool table = !pf.readsIfBound("table").empty();
    if (folder == table) pf.fail("bind either a `table` of samples or a `folder` of landing files");
    if (folder && params().files.empty()) pf.fail("`files` is empty");
    if (folder && !params().file_position.empty()) {
      try {  // the pattern's own mistakes now, not after the files are read
        positionFromFileName("", params());
      } catch (const UsageError& e) {
        pf.fail(e.what());
      } catch (const InputError&) {
      }
    }
    pf.writes("curves");
  }
  void run(RunContext& ctx) const override {
    LandingSummary s;
    CurveSet c = ctx.bound("folder") ? fromFolder(ctx, s)
                                     : landingsFromTable(ctx.get<Table>("table"), params(), &s);
    ctx.note("landings", std::to_string(c.curves.size()));
    ctx.note("samples", fmt::format("{} of {} in landings", s.used, s.samples));
    if (s.out_of_contact) ctx.note("out_of_contact", std::to_string(s.out_of_contact));
    if (s.short_landings) {
      ctx.warn(fmt::format("{} landing(s) shorter than {} samples were left out", s.short_landings,
                           params().min_samples));
    }
    ctx.put("curves", std::move(c));
  }

 private:
  // Every file of the folder that matches `files`, in name order, each read by the reader that
  // recognises it; one landing each.
  CurveSet fromFolder(RunContext& ctx, LandingSummary& s) const {
    const std::filesystem::path dir = ctx.file("folder");
    std::vector<std::filesystem::path> paths;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.is_regular_file() &&
          fnmatch(params().files.c_str(), e.path().filename().c_str(), 0) == 0)
        paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    if (paths.empty())
      throw InputError(dir.string(), fmt::format("no file matches '{}'", params().files));
    std::vector<LandingFile> files;
    Progress progress("reading landing files", paths.size());
    for (const auto& p : paths) {
      Dataset d = ctx.registry().pickReader(p).load(p, {});
      if (d.tables.empty())
        throw InputError(p.string(), "holds no table of samples (a landing file needs one)");
      files.push_back({p.filename().string(), std::move(d.tables.front())});
      progress.advance();
    }
    ctx.note("folder", fmt::format("{} files matching '{}'", paths.size(), params().files));
    return landingsFromFiles(files, params(), &s);
  }
};

}  // namespace

std::unique_ptr<Stage> makeLandingsStage() {
  return std::make_unique<LandingsStage>();
}

}  // namespace ionmap::seccm
