#include "memberflow/fit_io.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <tuple>

#include "json_io.hpp"
#include "memberflow/table.hpp"

namespace memberflow {

namespace {

using namespace detail::json_io;
using detail::number_text;

constexpr int fit_version = 1;
constexpr const char* file_keys[] = {"posterior", "pooling", "drift", "drift_years", "seasonal"};

std::string rate_stage(const pipeline& p, const rate_fit& r) { return p.stages()[r.stage].name; }
std::string rate_param(const rate_fit& r) { return std::string(param_name(r.which)); }

text_table posterior_table(const fit_result& f, const org& o, const pipeline& p) {
  text_table t;
  t.columns = {"unit_id", "stage", "param", "distribution", "shape", "scale", "centre", "events", "exposure"};
  for (const auto& r : f.rates)
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
      const bool point = r.no_data;
      t.add_row({o.id(u), rate_stage(p, r), rate_param(r), point ? "point" : r.is_probability ? "beta" : "gamma",
                 point ? "" : number_text(r.shape(u)), point ? "" : number_text(r.scale(u)), number_text(r.centre(u)),
                 number_text(r.events(u)), number_text(r.exposure(u))});
    }
  return t;
}

text_table pooling_table(const fit_result& f, const pipeline& p) {
  text_table t;
  t.columns = {"stage", "param", "depth", "kappa"};
  for (const auto& r : f.rates)
    for (std::size_t d = 0; d < r.kappa.size(); ++d)
      t.add_row({rate_stage(p, r), rate_param(r), std::to_string(d), number_text(r.kappa[d])});
  return t;
}

text_table drift_table(const fit_result& f, const pipeline& p) {
  text_table t;
  t.columns = {"stage", "param", "tau", "weight", "shift_mean", "shift_var"};
  for (const auto& r : f.rates)
    for (std::size_t g = 0; g < r.drift.tau_grid.size(); ++g)
      t.add_row({rate_stage(p, r), rate_param(r), number_text(r.drift.tau_grid[g]), number_text(r.drift.tau_weight[g]),
                 number_text(r.drift.grid_shift_mean[g]), number_text(r.drift.grid_shift_var[g])});
  return t;
}

text_table drift_years_table(const fit_result& f, const pipeline& p) {
  text_table t;
  t.columns = {"stage", "param", "year", "observed", "sampling_var"};
  for (const auto& r : f.rates)
    for (std::size_t y = 0; y < r.drift.observed.size(); ++y)
      t.add_row({rate_stage(p, r), rate_param(r), std::to_string(y), number_text(r.drift.observed[y]),
                 number_text(r.drift.sampling_var[y])});
  return t;
}

text_table seasonal_table(const seasonal_fit& s) {
  text_table t;
  t.columns = {"month", "arrivals", "kappa"};
  for (std::size_t m = 0; m < s.arrivals.size(); ++m)
    t.add_row({std::to_string(m + 1), number_text(s.arrivals[m]), number_text(s.kappa)});
  return t;
}

// ---------------------------------------------------------------------------------------
// Reading: every table has exactly its columns; each row is checked where it is read.

class rows {
 public:
  rows(const text_table& t, std::initializer_list<const char*> columns) : t_(t) {
    if (t_.columns.size() != columns.size() || !std::equal(columns.begin(), columns.end(), t_.columns.begin())) {
      std::string want;
      for (auto c : columns) {
        if (!want.empty()) want += ',';
        want += c;
      }
      throw input_error(t_.source + ": the columns must be " + want);
    }
  }
  std::size_t size() const { return t_.rows.size(); }
  const std::string& text(std::size_t r, std::size_t c) const { return t_.rows[r][c]; }
  double number(std::size_t r, std::size_t c) const { return detail::parse_double(text(r, c), where(r), t_.columns[c]); }
  long long integer(std::size_t r, std::size_t c) const {
    return detail::parse_integer(text(r, c), where(r), t_.columns[c]);
  }
  source_location where(std::size_t r) const { return t_.where(r); }
  [[noreturn]] void fail(std::size_t r, const std::string& why) const { throw input_error(where(r).describe() + ": " + why); }

 private:
  const text_table& t_;
};

// The fitted rates in the pipeline's order, found by (stage, param) as the files name them.
class rate_index {
 public:
  rate_index(fit_result& f, const pipeline& p) {
    for (const auto& spec : detail::rates_of(p)) {
      rate_fit r;
      r.stage = spec.stage;
      r.which = spec.which;
      r.is_probability = spec.probability;
      slot_[{p.stages()[spec.stage].name, std::string(param_name(spec.which))}] = f.rates.size();
      f.rates.push_back(std::move(r));
    }
  }
  // The rate named in columns `stage` and `stage + 1` of row r.
  std::size_t find(const rows& t, std::size_t r, std::size_t stage) const {
    auto it = slot_.find({t.text(r, stage), t.text(r, stage + 1)});
    if (it == slot_.end())
      t.fail(r, "no fitted rate '" + t.text(r, stage + 1) + "' of stage '" + t.text(r, stage) + "' in this pipeline");
    return it->second;
  }

 private:
  std::map<std::pair<std::string, std::string>, std::size_t> slot_;
};

std::string rate_name(const pipeline& p, const rate_fit& r) {
  return "stage '" + p.stages()[r.stage].name + "', parameter '" + std::string(param_name(r.which)) + "'";
}

void read_posterior(const text_table& table, fit_result& f, const rate_index& index, const org& o, const pipeline& p) {
  const rows t(table, {"unit_id", "stage", "param", "distribution", "shape", "scale", "centre", "events", "exposure"});
  const auto n = static_cast<Eigen::Index>(o.size());
  for (auto& r : f.rates)
    for (auto* a : {&r.shape, &r.scale, &r.centre, &r.events, &r.exposure})
      *a = Eigen::ArrayXd::Constant(n, std::numeric_limits<double>::quiet_NaN());
  std::vector<std::vector<char>> seen(f.rates.size(), std::vector<char>(o.size(), 0));
  std::vector<std::size_t> points(f.rates.size(), 0);
  for (std::size_t row = 0; row < t.size(); ++row) {
    const auto& id = t.text(row, 0);
    if (!o.contains(id)) t.fail(row, "unknown unit '" + id + "'");
    const auto u = o.index(id);
    const auto i = index.find(t, row, 1);
    auto& r = f.rates[i];
    if (seen[i][u]) t.fail(row, "unit '" + id + "' has this rate twice");
    seen[i][u] = 1;
    const auto& dist = t.text(row, 3);
    const std::string family = r.is_probability ? "beta" : "gamma";
    if (dist == "point") {
      ++points[i];
      if (!t.text(row, 4).empty() || !t.text(row, 5).empty()) t.fail(row, "a point rate has no shape or scale");
    } else if (dist == family) {
      r.shape(u) = t.number(row, 4);
      r.scale(u) = t.number(row, 5);
      if (!(r.shape(u) > 0) || !(r.scale(u) > 0)) t.fail(row, "shape and scale must be > 0");
    } else {
      t.fail(row, "distribution must be '" + family + "' or 'point', got '" + dist + "'");
    }
    r.centre(u) = t.number(row, 6);
    r.events(u) = t.number(row, 7);
    r.exposure(u) = t.number(row, 8);
    if (r.events(u) < 0 || r.exposure(u) < 0) t.fail(row, "events and exposure must be >= 0");
    if (r.centre(u) < 0 || (r.is_probability && r.centre(u) > 1))
      t.fail(row, std::string("centre must be in ") + (r.is_probability ? "[0, 1]" : "[0, inf)"));
  }
  for (std::size_t i = 0; i < f.rates.size(); ++i) {
    auto& r = f.rates[i];
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
      if (!seen[i][u]) throw input_error(table.source + ": no row for unit '" + o.id(u) + "', " + rate_name(p, r));
    if (points[i] != 0 && points[i] != o.size())
      throw input_error(table.source + ": " + rate_name(p, r) + " is a point for some units and a distribution for others");
    r.no_data = points[i] != 0;
  }
}

void read_pooling(const text_table& table, fit_result& f, const rate_index& index, const org& o, const pipeline& p) {
  const rows t(table, {"stage", "param", "depth", "kappa"});
  for (std::size_t row = 0; row < t.size(); ++row) {
    auto& r = f.rates[index.find(t, row, 0)];
    if (t.integer(row, 2) != static_cast<long long>(r.kappa.size()))
      t.fail(row, "depth must be " + std::to_string(r.kappa.size()) + " (depths in order from 0)");
    const double kappa = t.number(row, 3);
    if (!(kappa > 0)) t.fail(row, "kappa must be > 0");
    r.kappa.push_back(kappa);
  }
  for (const auto& r : f.rates)
    if (r.kappa.size() != static_cast<std::size_t>(o.height()) + 1)
      throw input_error(table.source + ": " + rate_name(p, r) + " needs kappa at depths 0 to " + std::to_string(o.height()));
}

void read_drift(const text_table& table, fit_result& f, const rate_index& index, const pipeline& p) {
  const rows t(table, {"stage", "param", "tau", "weight", "shift_mean", "shift_var"});
  for (std::size_t row = 0; row < t.size(); ++row) {
    auto& d = f.rates[index.find(t, row, 0)].drift;
    const double tau = t.number(row, 2), weight = t.number(row, 3), var = t.number(row, 5);
    if (tau < 0 || (!d.tau_grid.empty() && tau <= d.tau_grid.back())) t.fail(row, "tau must be >= 0 and increasing");
    if (weight < 0 || weight > 1) t.fail(row, "weight must be in [0, 1]");
    if (var < 0) t.fail(row, "shift_var must be >= 0");
    d.tau_grid.push_back(tau);
    d.tau_weight.push_back(weight);
    d.grid_shift_mean.push_back(t.number(row, 4));
    d.grid_shift_var.push_back(var);
  }
  for (auto& r : f.rates) {
    if (r.drift.tau_grid.empty()) continue;
    double total = 0;
    for (double w : r.drift.tau_weight) total += w;
    if (std::abs(total - 1) > 1e-9)
      throw input_error(table.source + ": the weights of " + rate_name(p, r) + " sum to " + number_text(total) + ", not 1");
    detail::finish_drift(r.drift);
  }
}

void read_drift_years(const text_table& table, fit_result& f, const rate_index& index) {
  const rows t(table, {"stage", "param", "year", "observed", "sampling_var"});
  for (std::size_t row = 0; row < t.size(); ++row) {
    auto& d = f.rates[index.find(t, row, 0)].drift;
    if (t.integer(row, 2) != static_cast<long long>(d.observed.size()))
      t.fail(row, "year must be " + std::to_string(d.observed.size()) + " (years in order from 0)");
    const double v = t.number(row, 4);
    if (!(v > 0)) t.fail(row, "sampling_var must be > 0");
    d.observed.push_back(t.number(row, 3));
    d.sampling_var.push_back(v);
  }
}

void read_seasonal(const text_table& table, seasonal_fit& s) {
  const rows t(table, {"month", "arrivals", "kappa"});
  if (t.size() != 0 && t.size() != 12)
    throw input_error(table.source + ": give the 12 months, or no row (no profile); got " + std::to_string(t.size()) + " rows");
  for (std::size_t row = 0; row < t.size(); ++row) {
    if (t.integer(row, 0) != static_cast<long long>(row) + 1) t.fail(row, "month must be " + std::to_string(row + 1));
    const double y = t.number(row, 1), kappa = t.number(row, 2);
    if (y < 0) t.fail(row, "arrivals must be >= 0");
    if (!(kappa > 0) || (row > 0 && kappa != s.kappa)) t.fail(row, "kappa must be > 0 and the same on every row");
    s.arrivals.push_back(y);
    s.kappa = kappa;
  }
}

}  // namespace

void write_fit(const fit_result& f, const org& o, const pipeline& p, const std::string& directory) {
  const fs::path dir(directory);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw input_error(directory + ": cannot create the directory (" + ec.message() + ")");
  const text_table tables[] = {posterior_table(f, o, p), pooling_table(f, p), drift_table(f, p),
                               drift_years_table(f, p), seasonal_table(f.seasonal)};
  json doc;
  doc["memberflow_fit"] = fit_version;
  doc["first"] = f.first.str();
  doc["last"] = f.last.str();
  json files;
  for (std::size_t i = 0; i < std::size(file_keys); ++i) {
    const std::string name = std::string(file_keys[i]) + ".csv";
    write_csv(tables[i], (dir / name).string());
    files[file_keys[i]] = name;
  }
  doc["files"] = files;
  std::ofstream out(dir / fit_manifest_file_name);
  out << doc.dump(2) << "\n";
  if (!out) throw input_error((dir / fit_manifest_file_name).string() + ": cannot write");
}

fit_result fit_from_tables(const fit_tables& t, const org& o, const pipeline& p) {
  fit_result f;
  f.first = t.first;
  f.last = t.last;
  const rate_index index(f, p);
  read_posterior(t.posterior, f, index, o, p);
  read_pooling(t.pooling, f, index, o, p);
  read_drift(t.drift, f, index, p);
  read_drift_years(t.drift_years, f, index);
  read_seasonal(t.seasonal, f.seasonal);
  return f;
}

fit_result read_fit(const std::string& path, const org& o, const pipeline& p) {
  std::error_code ec;
  const fs::path manifest = fs::is_directory(path, ec) ? fs::path(path) / fit_manifest_file_name : fs::path(path);
  if (!fs::exists(manifest, ec)) throw input_error(manifest.string() + ": no fit here (write one with memberflow fit)");
  const auto source = manifest.string();
  const auto doc = parse_json(detail::read_text_file(source), source);
  require_keys(doc, {"memberflow_fit", "first", "last", "files"}, source);
  if (!doc.contains("memberflow_fit") || !doc["memberflow_fit"].is_number_integer() ||
      doc["memberflow_fit"].get<long long>() != fit_version)
    throw input_error(source + ": 'memberflow_fit' must be the format version " + std::to_string(fit_version));
  for (auto key : {"first", "last", "files"})
    if (!doc.contains(key)) throw input_error(source + ": '" + key + "' is required");
  fit_tables t;
  t.first = calendar_month::parse(json_string(doc["first"], source + ": first"), source + ": first");
  t.last = calendar_month::parse(json_string(doc["last"], source + ": last"), source + ": last");
  const auto& files = doc["files"];
  require_keys(files, {"posterior", "pooling", "drift", "drift_years", "seasonal"}, source + ": files");
  text_table* slots[] = {&t.posterior, &t.pooling, &t.drift, &t.drift_years, &t.seasonal};
  for (std::size_t i = 0; i < std::size(file_keys); ++i) {
    const auto key = file_keys[i];
    if (!files.contains(key)) throw input_error(source + ": files: '" + key + "' is required");
    *slots[i] = read_csv(resolve(manifest.parent_path(), json_string(files[key], source + ": files, " + key)));
  }
  return fit_from_tables(t, o, p);
}

bool has_fit(const std::string& directory) {
  std::error_code ec;
  return fs::exists(fs::path(directory) / fit_manifest_file_name, ec);
}

}  // namespace memberflow
