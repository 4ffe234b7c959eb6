// seccm-classes: landings placed on a reference label image (orientation classes, domains) and
// the statistics between classes (classes.hpp).
#include <fmt/format.h>

#include "ionmap/core/text.hpp"
#include "ionmap/io/quicklook.hpp"
#include "seccm/classes.hpp"
#include "seccm/stages.hpp"

namespace ionmap::seccm {
namespace {

struct ClassParams {
  ClassOptions classes;
  std::string class_names;  // comma-separated
  std::string plot = "classes";
};

// Every landing's value by class (jittered), each class's mean with its interval beside it.
void writeClassPlot(const std::vector<LandingClass>& l, const Table& per_class,
                    const ClassOptions& o, const std::string& unit,
                    const std::filesystem::path& png) {
  Figure fig;
  fig.title = "landings by class: values, and mean with its bootstrap interval";
  fig.x_label = "class";
  PlotPanel panel;
  panel.y_label = unit.empty() ? "value" : "value (" + unit + ")";
  const auto& cls = per_class.column("class").numbers;
  const auto& mean = per_class.column("mean").numbers;
  const auto& lo = per_class.column("ci_lo").numbers;
  const auto& hi = per_class.column("ci_hi").numbers;
  const auto& names = per_class.column("name").texts;
  for (std::size_t k = 0; k < cls.size(); ++k) {
    PlotSeries pts;
    pts.style = PlotSeries::Style::kMarkers;
    pts.colour = static_cast<int>(k) % 2 ? 3 : 0;
    pts.label = fmt::format("{} = {}: n {}", k + 1, names[k],
                            static_cast<int>(per_class.column("n").numbers[k]));
    unsigned jitter = 12345;
    for (const auto& c : l) {
      if (c.cls != static_cast<int>(cls[k]) || c.share < o.min_share) continue;
      jitter = jitter * 1103515245u + 12345u;
      pts.x.push_back(static_cast<double>(k + 1) - 0.3 + 0.4 * ((jitter >> 16) % 1000) / 1000.0);
      pts.y.push_back(c.value);
    }
    PlotSeries ci;
    ci.x = {k + 1.25, k + 1.25};
    ci.y = {lo[k], hi[k]};
    ci.colour = 1;
    ci.thickness = 4;
    PlotSeries m;
    m.x = {k + 1.25};
    m.y = {mean[k]};
    m.style = PlotSeries::Style::kMarkers;
    m.colour = 1;
    if (k == 0) m.label = "mean and interval";
    panel.series.push_back(std::move(pts));
    panel.series.push_back(std::move(ci));
    panel.series.push_back(std::move(m));
  }
  fig.panels = {panel};
  writeFigure(fig, png);
}

Table landingClassTable(const std::vector<LandingClass>& l, const std::vector<std::string>& names,
                        const std::string& unit) {
  Table t("landing classes");
  t.description =
      "per landing: position on its map and on the reference, value, the class most of its "
      "contact disk covers and the share, its domain, and the distance to the nearest other "
      "class";
  t.addNumerics({{"x", "um"},
                 {"y", "um"},
                 {"reference_x", "um"},
                 {"reference_y", "um"},
                 {"value", unit},
                 {"class", ""}});
  t.addText("class_name");
  t.addNumerics({{"share", "1"}, {"domain", ""}, {"boundary_distance", "um"}});
  for (const auto& c : l) {
    const std::string name = c.cls >= 1 && c.cls <= static_cast<int>(names.size())
                                 ? names[c.cls - 1]
                                 : (c.cls ? fmt::format("class {}", c.cls) : "none");
    t.addRow({c.x, c.y, c.rx, c.ry, c.value, double(c.cls), name, c.share, double(c.domain),
              c.boundary_um});
  }
  return t;
}

class ClassesStage final : public StageOf<ClassParams, ClassesStage> {
 public:
  static const ParamSchema<ClassParams>& schema() {
    using P = ClassParams;
    auto c = [](auto m) { return field(&P::classes, m); };
    static const auto s =
        ParamSchema<P>()
            .real("radius", c(&ClassOptions::radius_um), Range::above(0), "um",
                  "contact (droplet) radius: the disk whose share in each class is counted")
            .real("min_share", c(&ClassOptions::min_share), Range::between(0.01, 1), "",
                  "landings with less of their disk in one class count as boundary landings, "
                  "not in the class comparisons")
            .text("class_names", &P::class_names,
                  "names of classes 1, 2, ..., comma-separated (e.g. \"[100], [001]\")")
            .real("level", c(&ClassOptions::level), Range::between(0.5, 0.999), "",
                  "confidence of the intervals")
            .integer("resamples", c(&ClassOptions::resamples), Range::between(100, 100000), "",
                     "bootstrap resamples")
            .text("plot", &P::plot,
                  "file prefix of the quicklooks (<prefix>-values.png: values by class; "
                  "<prefix>-landings.png: the landings on the reference); empty = none");
    return s;
  }
  std::string name() const override { return "seccm-classes"; }
  std::string summary() const override {
    return "SECCM landings on a reference label image (orientation classes, domains): class, "
           "share, boundary distance; per-class statistics and tests between classes";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap,
                         "one value per landing on the landing grid (e.g. conductivity)"),
            PortSpec::in("classes", ItemKind::kLabelMap,
                         "reference label image: class of every pixel (1, 2, ...; 0 none)")
                .needingPixelSize(),
            PortSpec::optionalIn("transform", ItemKind::kTransform,
                                 "landing-map um to reference um (e.g. from `register`); "
                                 "absent = the same frame"),
            PortSpec::out("landings", ItemKind::kTable, "per landing: class, share, domain"),
            PortSpec::out("classes", ItemKind::kTable, "per class: n, mean, CI, median, IQR"),
            PortSpec::out("comparisons", ItemKind::kTable,
                          "per pair of classes: Welch, Mann-Whitney, block bootstrap, Holm"),
            PortSpec::optionalOut("by_distance", ItemKind::kTable,
                                  "values by distance from the nearest boundary"),
            PortSpec::optionalOut("summary", ItemKind::kTable,
                                  "named quantities: per class the mean with a domain-clustered "
                                  "error, per pair the block-bootstrap difference and p (what a "
                                  "campaign pools over maps)")};
  }
  void preflight(Preflight& pf) const override {
    if (std::string why; !params().classes.IsValid(&why)) pf.fail(why);
    for (const auto& n : splitNames(params().class_names)) {
      if (n.empty()) pf.fail("`class_names` has an empty name");
    }
    pf.reads("map");
    pf.reads("classes");
    pf.readsIfBound("transform");
    pf.writes("landings");
    pf.writes("classes");
    pf.writes("comparisons");
  }
  void run(RunContext& ctx) const override {
    ClassOptions o = params().classes;
    o.names = splitNames(params().class_names);
    const Map& m = ctx.get<Map>("map");
    const Transform2D t =
        ctx.bound("transform") ? ctx.get<Transform2D>("transform") : Transform2D();
    const auto landings = assignClasses(m, ctx.get<LabelMap>("classes"), t, o);
    int placed = 0, pure = 0;
    for (const auto& l : landings) placed += l.cls > 0, pure += l.cls > 0 && l.share >= o.min_share;
    ctx.note("landings", fmt::format("{} with a value, {} on a class, {} with >= {:.0f} % of "
                                     "their disk in one class",
                                     landings.size(), placed, pure, 100 * o.min_share));
    if (placed < 0.5 * static_cast<double>(landings.size()))
      ctx.warn(
          fmt::format("only {} of {} landings fall on a labelled class: check the transform "
                      "onto the reference",
                      placed, landings.size()));
    ClassTables tables = classStatistics(landings, o, m.unit);
    if (!params().plot.empty()) {
      writeClassPlot(landings, tables.per_class, o, m.unit,
                     ctx.fileDir() / (params().plot + "-values.png"));
      // The reference with a cross at every landing's centre.
      QuicklookOptions look;
      look.title = "landings on the reference classes";
      look.colormap = "cividis";
      const double arm = 0.2 * m.grid.pixel_x;  // a fifth of the landing pitch
      for (const auto& c : landings) {
        look.polylines.push_back({{c.rx - arm, c.ry}, {c.rx + arm, c.ry}});
        look.polylines.push_back({{c.rx, c.ry - arm}, {c.rx, c.ry + arm}});
      }
      const LabelMap& ref = ctx.get<LabelMap>("classes");
      Map shown("classes", ref.grid, "1");
      for (std::size_t i = 0; i < shown.values.size(); ++i) {
        shown.values[i] = ref.labels[i];
        shown.mask[i] = ref.labels[i] > 0;
      }
      writeQuicklook(shown, ctx.fileDir() / (params().plot + "-landings.png"), look);
    }
    if (ctx.outputBound("summary"))  // before the tables move out
      ctx.put("summary", classSummary(landings, tables, o, m.unit));
    ctx.put("landings", landingClassTable(landings, o.names, m.unit));
    ctx.put("classes", std::move(tables.per_class));
    ctx.put("comparisons", std::move(tables.comparisons));
    if (ctx.outputBound("by_distance")) ctx.put("by_distance", std::move(tables.by_distance));
  }
};

}  // namespace

std::unique_ptr<Stage> makeClassesStage() {
  return std::make_unique<ClassesStage>();
}

}  // namespace ionmap::seccm
