#include "ionmap/campaign/aggregate.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ionmap/campaign/campaign_run.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/core/text.hpp"
#include "ionmap/core/units.hpp"
#include "ionmap/io/html_report.hpp"
#include "ionmap/io/quicklook.hpp"
#include "ionmap/io/results_store.hpp"
#include "ionmap/numerics/campaign_fits.hpp"
#include "ionmap/pipeline/provenance.hpp"

namespace ionmap::campaign {
namespace {

double number(const std::string& s) {
  if (s.empty()) return std::nan("");
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end && *end == '\0' ? v : std::nan("");
}

std::string slug(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

// The campaign's page: what ran and what failed first, the analyses and their plots, then every
// dataset (in pages of 100, collapsed) with its conditions, state and a link to its own report.
std::string campaignReport(const Manifest& m, const AggregateSummary& s,
                           const std::filesystem::path& dir) {
  std::map<std::string, std::size_t> by_state;
  const Column& state = s.datasets_table.column("state");
  const Column& message = s.datasets_table.column("message");
  for (const auto& st : state.texts) ++by_state[st];
  std::string b = fmt::format(
      "<h1>Campaign {} <span class=\"note\">{} datasets &middot; ionmap "
      "{}</span></h1>\n",
      html::escape(m.name), m.datasets.size(), html::escape(provenance::programVersion()));
  const bool all_done = by_state["done"] == m.datasets.size();
  std::string counts;
  for (const auto& [k, n] : by_state)
    counts += fmt::format("{}{}: {}", counts.empty() ? "" : ", ", k, n);
  b += fmt::format("<p class=\"verdict {}\">{}</p>\n", all_done ? "good" : "warn",
                   html::escape(counts));
  if (!s.warnings.empty() || !all_done) {
    b += "<h2>Problems</h2><ul class=\"problems\">\n";
    for (std::size_t i = 0; i < state.texts.size(); ++i) {
      if (state.texts[i] == "done") continue;
      b += fmt::format("<li><b>{}</b> ({}): {}</li>\n",
                       html::escape(s.datasets_table.column("dataset").texts[i]),
                       html::escape(state.texts[i]), html::escape(message.texts[i]));
    }
    for (const auto& w : s.warnings) b += "<li>" + html::escape(w) + "</li>\n";
    b += "</ul>\n";
  }
  if (s.analyses.rows()) {
    // The headline numbers first: each value with its error, then the plots, then every number.
    b += "<h2>Analyses</h2>\n<ul>\n";
    const Table& a = s.analyses;
    for (std::size_t r = 0; r < a.rows(); ++r) {
      const std::string& what = a.column("result").texts[r];
      if (what != "activation_energy" && what != "prefactor" && what != "mean" && what != "slope")
        continue;
      b += fmt::format(
          "<li>{} of <b>{}</b>{}: {} = {:.4g} &plusmn; {:.2g} {}</li>\n",
          html::escape(a.column("analysis").texts[r]), html::escape(a.column("quantity").texts[r]),
          a.column("group").texts[r].empty()
              ? ""
              : " (" + html::escape(a.column("group").texts[r]) + ")",
          html::escape(what), a.column("value").numbers[r], a.column("standard_error").numbers[r],
          html::escape(units::pretty(a.column("unit").texts[r])));
    }
    b += "</ul>\n";
    std::vector<std::filesystem::path> pngs;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".png") pngs.push_back(e.path());
    std::sort(pngs.begin(), pngs.end());
    for (const auto& p : pngs) b += html::embeddedPng(p, p.filename().string());
    b += "<details><summary>every number of the analyses (analyses.csv)</summary>\n" +
         html::table(s.analyses, 10000) + "</details>\n";
  }
  b += "<h2>Conditions</h2><p>";
  for (const auto& c : m.conditions)
    b += fmt::format("{} ({}) &nbsp; ", html::escape(c.name), html::escape(c.unit));
  b += "</p>\n<h2>Datasets</h2>\n";
  const Table& d = s.datasets_table;
  constexpr std::size_t kPage = 100;
  for (std::size_t first = 0; first < d.rows(); first += kPage) {
    const std::size_t last = std::min(d.rows(), first + kPage);
    b += fmt::format("<details{}><summary>datasets {}&ndash;{}</summary>\n<table><thead><tr>",
                     d.rows() <= kPage ? " open" : "", first + 1, last);
    for (const Column& c : d.columns)
      b += "<th>" + html::escape(c.name) +
           (c.unit.empty() ? "" : " (" + html::escape(c.unit) + ")") + "</th>";
    b += "<th>report</th></tr></thead><tbody>\n";
    for (std::size_t r = first; r < last; ++r) {
      b += "<tr>";
      for (const Column& c : d.columns)
        b += c.is_text ? "<td>" + html::escape(c.texts[r]) + "</td>"
                       : fmt::format("<td class=\"num\">{:.6g}</td>", c.numbers[r]);
      const std::string id = d.column("dataset").texts[r];
      b += fmt::format("<td><a href=\"../{0}/report.html\">{0}</a></td></tr>\n", html::escape(id));
    }
    b += "</tbody></table></details>\n";
  }
  b += fmt::format("<h2>Provenance</h2><p>manifest {} &middot; ionmap {} ({}) &middot; {}</p>\n",
                   html::escape(m.file.string()), html::escape(provenance::programVersion()),
                   html::escape(provenance::gitCommit()), html::escape(provenance::isoTimeNow()));
  return html::page("Campaign " + m.name + " — ionmap", b);
}

}  // namespace

std::vector<QuantityRow> readQuantities(const std::filesystem::path& dir, const std::string& id) {
  std::vector<QuantityRow> rows;
  std::vector<std::filesystem::path> csvs;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".csv") csvs.push_back(e.path());
  std::sort(csvs.begin(), csvs.end());
  for (const auto& path : csvs) {
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line)) continue;
    const auto header = splitCsvLine(line);
    int value = -1, unit = -1, se = -1;
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "value") value = static_cast<int>(i);
      if (header[i] == "unit") unit = static_cast<int>(i);
      if (header[i] == "standard_error") se = static_cast<int>(i);
    }
    if (value < 1 || unit < 0) continue;  // not a table of named quantities
    std::vector<QuantityRow> table_rows;
    std::set<std::string> names;
    bool unique = true;
    while (std::getline(in, line)) {
      const auto cells = splitCsvLine(line);
      if (cells.size() != header.size()) continue;
      unique = unique && names.insert(cells[0]).second;
      QuantityRow r;
      r.dataset = id;
      r.table = path.stem().string();
      r.quantity = r.table + "." + cells[0];
      r.value = number(cells[static_cast<std::size_t>(value)]);
      r.unit = cells[static_cast<std::size_t>(unit)];
      r.standard_error = se >= 0 ? number(cells[static_cast<std::size_t>(se)]) : std::nan("");
      table_rows.push_back(std::move(r));
    }
    // A table whose rows repeat a name (a cost profile, a curve) is not one of quantities.
    if (unique) rows.insert(rows.end(), table_rows.begin(), table_rows.end());
  }
  return rows;
}

AggregateSummary aggregateCampaign(const std::filesystem::path& out_dir) {
  AggregateSummary s;
  std::ifstream src(out_dir / "campaign-source.json");
  if (!src)
    throw InputError((out_dir / "campaign-source.json").string(),
                     "not a campaign folder (run `ionmap campaign run MANIFEST --out DIR` first)");
  nlohmann::json source;
  try {
    source = nlohmann::json::parse(src);
  } catch (const nlohmann::json::exception& e) {
    throw InputError((out_dir / "campaign-source.json").string(), e.what());
  }
  const std::string manifest = source.is_object() ? source.value("manifest", "") : "";
  if (manifest.empty())
    throw InputError((out_dir / "campaign-source.json").string(), "names no manifest");
  std::vector<std::string> problems;
  const Manifest m = loadManifest(manifest, problems);
  s.datasets = m.datasets.size();

  // Both tables lead with the dataset's columns: id, sample, every condition, state.
  auto addDatasetColumns = [&](Table& table) {
    table.addText("dataset");
    table.addText("sample");
    for (const auto& c : m.conditions) table.addNumeric(c.name, c.unit == "1" ? "" : c.unit);
    table.addText("state");
  };
  // The tidy table: then quantity, value, error, unit.
  Table& t = s.tidy;
  t.name = "quantities";
  t.description = fmt::format("campaign '{}': one row per dataset and quantity", m.name);
  addDatasetColumns(t);
  t.addText("quantity");
  t.addNumeric("value", "");
  t.addNumeric("standard_error", "");
  t.addText("unit");
  Table& dt = s.datasets_table;
  dt.name = "datasets";
  addDatasetColumns(dt);
  dt.addText("message");
  dt.addNumeric("quantities", "");

  // The last outcome of every dataset that ran (one file each: Snakemake jobs write their own).
  std::map<std::string, nlohmann::json> status;
  for (const DatasetSpec& d : m.datasets) {
    if (std::ifstream st(out_dir / "logs" / (d.id + ".status.json")); st) {
      try {
        status[d.id] = nlohmann::json::parse(st);
      } catch (const nlohmann::json::exception&) {
        s.warnings.push_back(fmt::format("dataset '{}': its status file cannot be read", d.id));
      }
    }
  }
  // A row's dataset cells (those of addDatasetColumns); the next column's index.
  auto pushDataset = [&](Table& table, const DatasetSpec& d, const std::string& state) {
    std::size_t k = 0;
    table.columns[k++].texts.push_back(d.id);
    table.columns[k++].texts.push_back(d.sample);
    for (const auto& c : m.conditions)
      table.columns[k++].numbers.push_back(d.conditions.count(c.name) ? d.conditions.at(c.name)
                                                                      : std::nan(""));
    table.columns[k++].texts.push_back(state);
    return k;
  };
  std::vector<QuantityRow> all;
  for (const DatasetSpec& d : m.datasets) {
    const auto dir = out_dir / d.id;
    std::string state = "not run", message;
    // A marker that cannot be read (cut short by a full disk) counts as no marker.
    bool marker = false;
    if (std::ifstream in(dir / kDoneMarker); in) {
      try {
        state = nlohmann::json::parse(in).value("state", "done");
        marker = true;
      } catch (const nlohmann::json::exception&) {
        state = "not run";
      }
    }
    if (!marker && status.count(d.id)) {
      state = status[d.id].value("state", "not run");
      message = status[d.id].value("message", "");
    }
    if (state == "checks_failed" && status.count(d.id)) message = status[d.id].value("message", "");
    std::vector<QuantityRow> q;
    if (marker) q = readQuantities(dir, d.id);
    if (marker) ++s.with_results;
    {
      std::size_t k = pushDataset(dt, d, state);
      dt.columns[k++].texts.push_back(message);
      dt.columns[k++].numbers.push_back(static_cast<double>(q.size()));
    }
    if (state == "failed" || state == "not run")
      s.warnings.push_back(fmt::format("dataset '{}' has no results ({}{})", d.id, state,
                                       message.empty() ? "" : ": " + message));
    for (auto& r : q) {
      r.state = state;
      std::size_t k = pushDataset(t, d, state);
      t.columns[k++].texts.push_back(r.quantity);
      t.columns[k++].numbers.push_back(r.value);
      t.columns[k++].numbers.push_back(r.standard_error);
      t.columns[k++].texts.push_back(r.unit);
      all.push_back(r);
    }
  }
  s.quantities = t.rows();

  // The analyses, on datasets whose results passed their own checks.
  Table& at = s.analyses;
  at.name = "analyses";
  at.addText("analysis");
  at.addText("quantity");
  at.addText("group");
  at.addText("result");
  at.addNumeric("value", "");
  at.addNumeric("standard_error", "");
  at.addText("unit");
  auto addResult = [&](const std::string& kind, const std::string& q, const std::string& group,
                       const std::string& name, double v, double e, const std::string& unit) {
    at.columns[0].texts.push_back(kind);
    at.columns[1].texts.push_back(q);
    at.columns[2].texts.push_back(group);
    at.columns[3].texts.push_back(name);
    at.columns[4].numbers.push_back(v);
    at.columns[5].numbers.push_back(e);
    at.columns[6].texts.push_back(unit);
  };
  const auto staging = out_dir / "campaign.partial";
  std::filesystem::remove_all(staging);
  std::filesystem::create_directories(staging);
  for (const AnalysisSpec& a : m.analyses) {
    std::vector<const QuantityRow*> rows;
    std::size_t excluded = 0;
    for (const auto& r : all) {
      if (r.quantity != a.quantity) continue;
      if (r.state != "done" || !std::isfinite(r.value) || !(r.standard_error > 0)) {
        ++excluded;
        continue;
      }
      rows.push_back(&r);
    }
    if (excluded)
      s.warnings.push_back(
          fmt::format("{} of {}: {} dataset(s) left out (failed checks or no "
                      "standard error)",
                      a.kind, a.quantity, excluded));
    if (rows.empty()) {
      s.warnings.push_back(fmt::format("{} of {}: no dataset has it", a.kind, a.quantity));
      continue;
    }
    const std::string unit = rows.front()->unit;
    auto conditionOf = [&](const QuantityRow& r, const std::string& c) {
      for (const auto& d : m.datasets)
        if (d.id == r.dataset && d.conditions.count(c)) return d.conditions.at(c);
      return std::nan("");
    };
    std::vector<double> x, y, e;
    for (const auto* r : rows) {
      x.push_back(a.condition.empty() ? 0.0 : conditionOf(*r, a.condition));
      y.push_back(r->value);
      e.push_back(r->standard_error);
    }
    try {
      if (a.kind == "arrhenius") {
        const auto f = stats::fitArrhenius(x, y, e);
        addResult("arrhenius", a.quantity, "", "activation_energy", f.activation_eV,
                  f.activation_se, "eV");
        addResult("arrhenius", a.quantity, "", "prefactor", f.prefactor, f.prefactor_se, unit);
        addResult("arrhenius", a.quantity, "", "ln_prefactor", f.ln_prefactor, f.ln_prefactor_se,
                  "");
        addResult("arrhenius", a.quantity, "", "covariance_Ea_lnprefactor", f.covariance,
                  std::nan(""), "eV");
        addResult("arrhenius", a.quantity, "", "chi2", f.line.chi2, std::nan(""), "");
        addResult("arrhenius", a.quantity, "", "dof", f.line.dof, std::nan(""), "");
        addResult("arrhenius", a.quantity, "", "p_lack_of_fit", f.line.p_lack_of_fit, std::nan(""),
                  "");
        addResult("arrhenius", a.quantity, "", "error_scale", f.line.scale, std::nan(""), "");
        if (f.line.dof > 0 && f.line.p_lack_of_fit < 0.01)
          s.warnings.push_back(fmt::format(
              "arrhenius of {}: the points scatter beyond their errors (χ² {:.1f} on {} dof, p = "
              "{:.2g}); the errors of E_a and the prefactor are scaled by {:.2f}",
              a.quantity, f.line.chi2, f.line.dof, f.line.p_lack_of_fit, f.line.scale));
        // Plot: ln q against 1000/T with the line.
        Figure fig;
        fig.title = fmt::format("Arrhenius: {}  (E_a = {:.3f} +- {:.3f} eV)", a.quantity,
                                f.activation_eV, f.activation_se);
        fig.x_label = "1000 / T (1/K)";
        PlotPanel p;
        p.y_label = fmt::format("ln({} / {})", a.quantity, unit.empty() ? "1" : unit);
        p.include_zero = false;
        PlotSeries pts, line;
        pts.style = PlotSeries::Style::kMarkers;
        pts.label = "datasets";
        line.colour = 1;
        line.label = "fit";
        double lo = 1e300, hi = -1e300;
        for (std::size_t i = 0; i < x.size(); ++i) {
          pts.x.push_back(1000 / x[i]);
          pts.y.push_back(std::log(y[i]));
          pts.y_error.push_back(e[i] / y[i]);
          lo = std::min(lo, 1000 / x[i]), hi = std::max(hi, 1000 / x[i]);
        }
        for (int k = 0; k <= 20; ++k) {
          const double inv = lo + (hi - lo) * k / 20;  // 1000/T
          line.x.push_back(inv);
          line.y.push_back(f.ln_prefactor - f.activation_eV * inv / 1000 / stats::kBoltzmann_eV);
        }
        p.series = {pts, line};
        fig.panels = {p};
        const auto png = staging / ("arrhenius-" + slug(a.quantity) + ".png");
        writeFigure(fig, png);
        s.files.push_back(png.filename());
      } else if (a.kind == "pool") {
        std::map<double, std::pair<std::vector<double>, std::vector<double>>> groups;
        for (std::size_t i = 0; i < y.size(); ++i) {
          groups[x[i]].first.push_back(y[i]);
          groups[x[i]].second.push_back(e[i]);
        }
        for (const auto& [g, ye] : groups) {
          const auto pr = stats::poolRandomEffects(ye.first, ye.second);
          const std::string group =
              a.condition.empty()
                  ? "all"
                  : fmt::format("{} = {:g} {}", a.condition, g, m.condition(a.condition)->unit);
          addResult("pool", a.quantity, group, "mean", pr.mean, pr.se, unit);
          addResult("pool", a.quantity, group, "ci95_low", pr.ci_lo, std::nan(""), unit);
          addResult("pool", a.quantity, group, "ci95_high", pr.ci_hi, std::nan(""), unit);
          addResult("pool", a.quantity, group, "tau", std::sqrt(pr.tau2), std::nan(""), unit);
          addResult("pool", a.quantity, group, "I2", pr.i2, std::nan(""), "");
          addResult("pool", a.quantity, group, "p_heterogeneity", pr.p_heterogeneity, std::nan(""),
                    "");
          addResult("pool", a.quantity, group, "datasets", static_cast<double>(pr.k), std::nan(""),
                    "");
        }
      } else if (a.kind == "trend") {
        const auto f = stats::weightedLine(x, y, e);
        const std::string cu = m.condition(a.condition)->unit;
        addResult("trend", a.quantity, a.condition, "slope", f.slope, f.se_slope,
                  fmt::format("{}/{}", unit.empty() ? "1" : unit, cu));
        addResult("trend", a.quantity, a.condition, "intercept", f.intercept, f.se_intercept, unit);
        addResult("trend", a.quantity, a.condition, "p_lack_of_fit", f.p_lack_of_fit, std::nan(""),
                  "");
        Figure fig;
        fig.title = fmt::format("{} against {}", a.quantity, a.condition);
        fig.x_label = fmt::format("{} ({})", a.condition, cu);
        PlotPanel p;
        p.y_label = fmt::format("{} ({})", a.quantity, unit);
        PlotSeries pts, line;
        pts.style = PlotSeries::Style::kMarkers;
        pts.x = x, pts.y = y, pts.y_error = e;
        pts.label = "datasets";
        line.colour = 1;
        line.label = "weighted line";
        const double lo = *std::min_element(x.begin(), x.end()),
                     hi = *std::max_element(x.begin(), x.end());
        line.x = {lo, hi};
        line.y = {f.intercept + f.slope * lo, f.intercept + f.slope * hi};
        p.series = {pts, line};
        fig.panels = {p};
        const auto png = staging / ("trend-" + slug(a.quantity) + "-" + slug(a.condition) + ".png");
        writeFigure(fig, png);
        s.files.push_back(png.filename());
      }
    } catch (const ProcessingError& ex) {
      s.warnings.push_back(fmt::format("{} of {}: {}", a.kind, a.quantity, ex.what()));
    }
  }

  // Write everything aside, then move it in place.
  auto writeCsv = [&](const Table& table, const std::string& name) {
    std::ofstream(staging / name) << table.toCsv();
    s.files.push_back(name);
  };
  writeCsv(t, "quantities.csv");
  writeCsv(dt, "datasets.csv");
  writeCsv(at, "analyses.csv");
  {
    ResultsWriter w(staging / "campaign.h5");
    RunRecord run;
    provenance::describeProgram(run);
    run.command_line = "ionmap campaign aggregate " + out_dir.string();
    run.pipeline_file = m.file.string();
    run.pipeline_name = m.name;
    run.pipeline_text = m.text;
    run.start_time = run.end_time = provenance::isoTimeNow();
    w.writeRun(run);
    w.writeTable("datasets", dt, "campaign aggregate");
    w.writeTable("quantities", t, "campaign aggregate");
    if (at.rows()) w.writeTable("analyses", at, "campaign aggregate");
    w.close();
  }
  s.files.push_back("campaign.h5");
  std::ofstream(staging / "report.html") << campaignReport(m, s, staging);
  s.files.push_back("report.html");
  const auto final_dir = out_dir / "campaign";
  std::filesystem::remove_all(final_dir);
  std::filesystem::rename(staging, final_dir);
  return s;
}

}  // namespace ionmap::campaign
