#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "generic/readers.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::generic {
namespace {

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// Walks the PNG chunk list up to the first IDAT, checking every length against the file,
// and returns the pHYs pixel size in µm when the unit is the metre (0 otherwise).
void pngPixelSize(const std::filesystem::path& path, double& px_um, double& py_um) {
  px_um = py_um = 0;
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  std::uint64_t pos = 8;
  unsigned char hdr[8];
  while (pos + 12 <= size) {
    in.seekg(static_cast<std::streamoff>(pos));
    in.read(reinterpret_cast<char*>(hdr), 8);
    if (!in) break;
    const std::uint64_t len = be32(hdr);
    if (len > size - pos - 12) {
      throw InputError(path.string(), pos,
                       fmt::format("PNG chunk '{:.4s}' claims {} bytes, past the end of the file "
                                   "({} bytes; truncated?)",
                                   reinterpret_cast<const char*>(hdr + 4), len, size));
    }
    if (std::memcmp(hdr + 4, "IDAT", 4) == 0) return;
    if (std::memcmp(hdr + 4, "pHYs", 4) == 0 && len == 9) {
      unsigned char d[9];
      in.read(reinterpret_cast<char*>(d), 9);
      const std::uint32_t ppx = be32(d), ppy = be32(d + 4);
      if (in && d[8] == 1 && ppx > 0 && ppy > 0) {
        px_um = 1e6 / ppx;
        py_um = 1e6 / ppy;
      }
    }
    pos += len + 12;
  }
}

class ImageReader : public Reader {
 public:
  std::string name() const override { return "image"; }
  std::string description() const override {
    return "PNG, BMP and JPEG images (8/16-bit; colour becomes luminance; PNG pHYs pixel size)";
  }
  int score(const std::filesystem::path& path, const std::vector<std::uint8_t>& h) const override {
    const std::string ext = lowerExtension(path);
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (h.size() >= 8 && std::memcmp(h.data(), png, 8) == 0) return ext == "png" ? 100 : 90;
    if (h.size() >= 2 && h[0] == 'B' && h[1] == 'M' && ext == "bmp") return 90;
    if (h.size() >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) return 80;
    return 0;
  }
  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    const std::string ext = lowerExtension(path);
    double px = 0, py = 0;
    if (ext == "png") pngPixelSize(path, px, py);
    cv::Mat img;
    try {
      img = cv::imread(path.string(), cv::IMREAD_UNCHANGED | cv::IMREAD_ANYDEPTH);
    } catch (const cv::Exception& e) {
      throw InputError(path.string(), std::string("cannot decode image: ") + e.what());
    }
    if (img.empty()) {
      throw InputError(path.string(), "cannot decode image (corrupt or truncated file?)");
    }
    cv::Mat gray;
    if (img.channels() == 1) {
      gray = img;
    } else {
      cv::Mat bgr;
      if (img.channels() == 4) {
        cv::cvtColor(img, bgr, cv::COLOR_BGRA2BGR);
      } else {
        bgr = img;
      }
      cv::Mat f;
      bgr.convertTo(f, CV_64F);
      cv::transform(f, gray, cv::Matx13d(0.114, 0.587, 0.299));
    }
    Grid g;
    g.width = gray.cols;
    g.height = gray.rows;
    g.calibrated = px > 0;
    if (g.calibrated) g.pixel_x = px, g.pixel_y = py;
    Map m(options.channel_names.empty() ? path.stem().string() : options.channel_names.front(), g,
          "");
    cv::Mat dst(g.height, g.width, CV_64F, m.values.data());
    gray.convertTo(dst, CV_64F);
    m.metadata.emplace_back("channels_in_file", std::to_string(img.channels()));
    m.metadata.emplace_back("depth_bits", img.depth() == CV_16U ? "16" : "8");
    if (img.channels() > 1) m.metadata.emplace_back("colour", "converted to luminance (Rec. 601)");
    applyReadOptions(m, options);
    Dataset ds;
    ds.format = name();
    ds.maps.push_back(std::move(m));
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeImageReader() {
  return std::make_unique<ImageReader>();
}

}  // namespace ionmap::generic
