// Reading results.h5 back with the plain HDF5 C API, as another tool would.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace ionmap::test {

class H5File {
 public:
  explicit H5File(const std::string& path)
      : id_(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~H5File() {
    if (id_ >= 0) H5Fclose(id_);
  }
  bool ok() const { return id_ >= 0; }
  hid_t id() const { return id_; }
  bool exists(const std::string& path) const {
    return H5Lexists(id_, path.c_str(), H5P_DEFAULT) > 0 &&
           H5Oexists_by_name(id_, path.c_str(), H5P_DEFAULT) > 0;
  }
  // Scalar string attribute of an object ("" when absent).
  std::string attr(const std::string& obj, const std::string& name) const {
    if (H5Aexists_by_name(id_, obj.c_str(), name.c_str(), H5P_DEFAULT) <= 0) return "";
    hid_t a = H5Aopen_by_name(id_, obj.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    std::string out;
    if (H5Tis_variable_str(t) > 0) {
      char* s = nullptr;
      hid_t mt = H5Tget_native_type(t, H5T_DIR_DEFAULT);  // keeps the file's character set
      if (H5Aread(a, mt, &s) >= 0 && s) out = s;
      if (s) H5free_memory(s);
      H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
    return out;
  }
  std::string text(const std::string& path) const {
    hid_t d = H5Dopen2(id_, path.c_str(), H5P_DEFAULT);
    if (d < 0) return "";
    char* s = nullptr;
    hid_t ft = H5Dget_type(d);
    hid_t mt = H5Tget_native_type(ft, H5T_DIR_DEFAULT);  // keeps the file's character set
    H5Tclose(ft);
    std::string out;
    if (H5Tis_variable_str(mt) > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) >= 0 && s)
      out = s;
    if (s) H5free_memory(s);
    H5Tclose(mt);
    H5Dclose(d);
    return out;
  }
  // A 1-D dataset of variable-length strings (a table's text column).
  std::vector<std::string> texts(const std::string& path) const {
    std::vector<std::string> out;
    hid_t d = H5Dopen2(id_, path.c_str(), H5P_DEFAULT);
    if (d < 0) return out;
    hid_t sp = H5Dget_space(d);
    const hssize_t n = H5Sget_simple_extent_npoints(sp);
    hid_t ft = H5Dget_type(d);
    hid_t mt = H5Tget_native_type(ft, H5T_DIR_DEFAULT);
    std::vector<char*> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)), nullptr);
    if (n > 0 && H5Tis_variable_str(mt) > 0 &&
        H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0) {
      for (char* s : v) out.emplace_back(s ? s : "");
      H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v.data());
    }
    H5Tclose(mt);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Dclose(d);
    return out;
  }
  // The paths of every dataset in the file ("/entry/..."), by walking every link once.
  std::vector<std::string> datasets() const {
    std::vector<std::string> out;
    H5Lvisit(
        id_, H5_INDEX_NAME, H5_ITER_INC,
        [](hid_t group, const char* name, const H5L_info_t*, void* data) -> herr_t {
          const hid_t o = H5Oopen(group, name, H5P_DEFAULT);
          if (o < 0) return 0;
          if (H5Iget_type(o) == H5I_DATASET)
            static_cast<std::vector<std::string>*>(data)->push_back(std::string("/") + name);
          H5Oclose(o);
          return 0;
        },
        &out);
    return out;
  }
  // The first element of a numeric dataset (NaN when absent).
  double number(const std::string& path) const {
    const auto v = numbers(path);
    return v.empty() ? std::nan("") : v.front();
  }
  std::vector<double> numbers(const std::string& path) const {
    hid_t d = H5Dopen2(id_, path.c_str(), H5P_DEFAULT);
    if (d < 0) return {};
    hid_t sp = H5Dget_space(d);
    const hssize_t n = H5Sget_simple_extent_npoints(sp);
    std::vector<double> v(static_cast<std::size_t>(n));
    if (n > 0) H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Sclose(sp);
    H5Dclose(d);
    return v;
  }

 private:
  hid_t id_;
};

}  // namespace ionmap::test
