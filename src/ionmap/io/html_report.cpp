#include "ionmap/io/html_report.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "ionmap/core/units.hpp"

namespace ionmap::html {

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string embeddedPng(const std::filesystem::path& png, const std::string& caption) {
  std::ifstream in(png, std::ios::binary);
  if (!in) return "";
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string b64(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  b64.resize(static_cast<std::size_t>(std::max(0, n)));
  return fmt::format(
      "<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\"><figcaption>{}</figcaption>"
      "</figure>\n",
      b64, escape(caption), escape(caption));
}

std::string table(const Table& t, std::size_t max_rows) {
  std::string s = "<div class=\"scroll\"><table><thead><tr>";
  for (const Column& c : t.columns) {
    s += "<th>" + escape(c.name);
    if (!c.unit.empty())
      s += " <span class=\"unit\">(" + escape(units::pretty(c.unit)) + ")</span>";
    s += "</th>";
  }
  s += "</tr></thead><tbody>\n";
  const std::size_t rows = std::min(t.rows(), max_rows);
  for (std::size_t r = 0; r < rows; ++r) {
    s += "<tr>";
    for (const Column& c : t.columns) {
      if (c.is_text) {
        s += "<td>" + escape(c.texts[r]) + "</td>";
      } else {
        const double v = c.numbers[r];
        s += std::isfinite(v) ? fmt::format("<td class=\"num\">{:.6g}</td>", v)
                              : "<td class=\"num\">&ndash;</td>";
      }
    }
    s += "</tr>\n";
  }
  s += "</tbody></table></div>";
  if (t.rows() > rows)
    s += fmt::format("<p class=\"note\">{} more rows in the CSV file and results.h5.</p>",
                     t.rows() - rows);
  return s + "\n";
}

std::string page(const std::string& title, const std::string& body) {
  return fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{0}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; padding: 0 1em; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }}
.verdict {{ padding: .6em 1em; border-radius: 4px; font-weight: 600; }}
.good {{ background: #e3f4e3; border: 1px solid #7c7; }} .bad {{ background: #fde2e2; border: 1px solid #d77; }}
.warn {{ background: #fff5d6; border: 1px solid #db5; }}
table {{ border-collapse: collapse; font-size: .85em; margin: .5em 0; }}
th, td {{ border: 1px solid #ddd; padding: .2em .5em; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
th {{ background: #f3f3f3; }} .unit {{ color: #666; font-weight: normal; }}
.scroll {{ overflow-x: auto; }} .note {{ color: #666; font-size: .85em; }}
figure {{ display: inline-block; margin: .5em; vertical-align: top; }}
figure img {{ max-width: 560px; border: 1px solid #ccc; }}
figcaption {{ font-size: .8em; color: #555; max-width: 560px; }}
details {{ margin: .3em 0; }} summary {{ cursor: pointer; }}
ul.problems li {{ margin: .2em 0; }}
</style></head>
<body data-report-check="pending">
<div id="image-problem" class="verdict bad" hidden></div>
{1}
<script>
window.addEventListener('load', function () {{
  var broken = Array.prototype.filter.call(document.images, function (i) {{
    return !i.complete || i.naturalWidth === 0; }});
  var box = document.getElementById('image-problem');
  if (broken.length) {{
    box.hidden = false;
    box.textContent = broken.length + ' image(s) of this report could not be shown.';
  }}
  document.body.setAttribute('data-report-check', broken.length ? 'broken-images:' + broken.length : 'ok');
}});
</script>
</body></html>
)",
                     escape(title), body);
}

std::string runReport(const RunRecord& run,
                      const std::vector<std::pair<std::string, const Table*>>& tables,
                      const std::filesystem::path& dir) {
  std::string b;
  b += fmt::format("<h1>{} <span class=\"note\">ionmap {} &middot; {}</span></h1>\n",
                   escape(run.pipeline_name), escape(run.version), escape(run.start_time));
  const bool good = run.failed_checks.empty();
  std::size_t warnings = 0;
  for (const auto& p : run.processes) warnings += p.warnings.size();
  b += fmt::format(
      "<p class=\"verdict {}\">{}{}</p>\n", good ? "good" : "bad",
      good ? "Fit for use: every result passed its own checks"
           : fmt::format("NOT fit for use: {} failed check(s)", run.failed_checks.size()),
      warnings ? fmt::format(" &middot; {} warning(s)", warnings) : "");
  if (!run.failed_checks.empty() || warnings) {
    b += "<h2>Checks and warnings</h2><ul class=\"problems\">\n";
    for (const auto& f : run.failed_checks) b += "<li class=\"bad\">" + escape(f) + "</li>\n";
    for (const auto& p : run.processes)
      for (const auto& w : p.warnings)
        b += fmt::format("<li>stage <b>{}</b>: {}</li>\n", escape(p.id), escape(w));
    b += "</ul>\n";
  }
  std::vector<std::filesystem::path> pngs;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".png") pngs.push_back(e.path());
  std::sort(pngs.begin(), pngs.end());
  if (!pngs.empty()) {
    b += "<h2>Quicklooks</h2>\n";
    for (const auto& p : pngs) b += embeddedPng(p, p.filename().string());
  }
  if (!tables.empty()) {
    b += "<h2>Tables</h2>\n";
    for (const auto& [name, t] : tables) {
      b += fmt::format("<details{}><summary><b>{}</b> &mdash; {} ({} rows)</summary>\n",
                       t->rows() <= 30 ? " open" : "", escape(name), escape(t->description),
                       t->rows());
      b += table(*t, 200) + "</details>\n";
    }
  }
  b += "<h2>Stages</h2>\n<table><thead><tr><th>#</th><th>id</th><th>stage</th><th>time "
       "<span class=\"unit\">(s)</span></th><th>notes</th></tr></thead><tbody>\n";
  for (const auto& p : run.processes) {
    std::string notes;
    for (const auto& [k, v] : p.notes)
      if (k != "quicklook") notes += escape(k) + ": " + escape(v) + "<br>";
    b += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{:.3f}</td><td>{}"
        "</td></tr>\n",
        p.index, escape(p.id), escape(p.stage), p.duration_s, notes);
  }
  b += "</tbody></table>\n<h2>Provenance</h2>\n<table><tbody>\n";
  auto row = [&](const std::string& k, const std::string& v) {
    b += "<tr><th>" + escape(k) + "</th><td>" + escape(v) + "</td></tr>\n";
  };
  row("program", run.program + " " + run.version + " (" + run.git_commit + ", " + run.build_type +
                     ", " + run.compiler + ")");
  row("host", run.host);
  row("command", run.command_line);
  row("pipeline", run.pipeline_file);
  for (const auto& o : run.overrides) row("override", o);
  row("started", run.start_time);
  row("threads", std::to_string(run.threads));
  for (const auto& in : run.inputs)
    row("input " + in.name,
        in.path + " (" + std::to_string(in.size_bytes) + " bytes, sha256 " + in.sha256 + ")");
  b += "</tbody></table>\n";
  return page(run.pipeline_name + " — ionmap report", b);
}

}  // namespace ionmap::html
