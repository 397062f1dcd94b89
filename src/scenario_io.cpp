#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "json_io.hpp"
#include "memberflow/org_io.hpp"
#include "memberflow/scenario.hpp"
#include "memberflow/scenario_io.hpp"

namespace memberflow {

namespace {

unit_index unit_of(const text_table& t, std::size_t r, std::size_t col, const org& o) {
  const auto& id = t.rows[r][col];
  if (!o.contains(id)) throw unknown_id(t.where(r).describe() + ": unknown unit '" + id + "'");
  return o.index(id);
}

long long whole_number(const text_table& t, std::size_t r, std::size_t col) {
  const auto v = detail::parse_integer(t.rows[r][col], t.where(r), t.columns[col]);
  if (v < 0)
    throw input_error(t.where(r).describe() + ": column '" + t.columns[col] + "' must be >= 0, got " +
                      t.rows[r][col]);
  return v;
}

}  // namespace

Eigen::ArrayXXd stocks_from_table(const text_table& t, const org& o, const pipeline& p) {
  const auto unit_col = t.require_column("unit_id");
  const auto stage_col = t.require_column("stage");
  const auto count_col = t.require_column("count");
  const auto age_col = t.find_column("months_in_stage");
  Eigen::ArrayXXd stocks = Eigen::ArrayXXd::Zero(static_cast<Eigen::Index>(o.size()),
                                                 static_cast<Eigen::Index>(p.state_size()));
  std::map<std::pair<unit_index, std::size_t>, std::size_t> seen;  // (unit, slot) -> row
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto where = t.where(r).describe();
    const auto u = unit_of(t, r, unit_col, o);
    std::size_t s = 0;
    try {
      s = p.index(t.rows[r][stage_col]);
    } catch (const unknown_id& e) {
      throw unknown_id(where + ": " + e.what());
    }
    const auto& st = p.stages()[s];
    const bool has_age = age_col != text_table::npos && !t.rows[r][age_col].empty();
    std::size_t age = 0;
    if (st.kind == stage_kind::fixed) {
      if (!has_age)
        throw input_error(where + ": stage '" + st.name + "' lasts " + std::to_string(st.months) +
                          " months, so months_in_stage (0.." + std::to_string(st.months - 1) + ") is required");
      const auto a = whole_number(t, r, age_col);
      if (a >= st.months)
        throw input_error(where + ": months_in_stage = " + std::to_string(a) + " but stage '" + st.name +
                          "' lasts " + std::to_string(st.months) + " months (ages 0.." +
                          std::to_string(st.months - 1) + ")");
      age = static_cast<std::size_t>(a);
    } else if (has_age) {
      throw input_error(where + ": months_in_stage is given, but stage '" + st.name +
                        "' is not a fixed-duration stage (leave it empty)");
    }
    const auto slot = p.offset(s) + age;
    auto [it, fresh] = seen.emplace(std::make_pair(u, slot), r);
    if (!fresh)
      throw input_error(where + ": unit '" + o.id(u) + "', stage '" + st.name + "'" +
                        (st.kind == stage_kind::fixed ? ", months_in_stage " + std::to_string(age) : "") +
                        " is already given at " + t.where(it->second).describe());
    stocks(u, static_cast<Eigen::Index>(slot)) = static_cast<double>(whole_number(t, r, count_col));
  }
  return stocks;
}

text_table stocks_to_table(const Eigen::ArrayXXd& stocks, const org& o, const pipeline& p) {
  text_table t;
  t.source = "stocks";
  t.columns = {"unit_id", "stage", "count", "months_in_stage"};
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    for (std::size_t s = 0; s < p.size(); ++s)
      for (std::size_t a = 0; a < p.width(s); ++a) {
        const double c = stocks(u, static_cast<Eigen::Index>(p.offset(s) + a));
        if (c == 0) continue;
        t.add_row({o.id(u), p.stages()[s].name, detail::format_attribute(c),
                   p.stages()[s].kind == stage_kind::fixed ? std::to_string(a) : ""});
      }
  return t;
}

Eigen::ArrayXd targets_from_table(const text_table& t, const org& o) {
  const auto unit_col = t.require_column("unit_id");
  const auto target_col = t.require_column("target");
  Eigen::ArrayXd targets = Eigen::ArrayXd::Constant(static_cast<Eigen::Index>(o.size()),
                                                    std::numeric_limits<double>::quiet_NaN());
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto u = unit_of(t, r, unit_col, o);
    if (!std::isnan(targets(u)))
      throw input_error(t.where(r).describe() + ": unit '" + o.id(u) + "' has a target already");
    const double v = detail::parse_double(t.rows[r][target_col], t.where(r), "target");
    if (v < 0) throw input_error(t.where(r).describe() + ": target must be >= 0");
    targets(u) = v;
  }
  return targets;
}

text_table targets_to_table(const Eigen::ArrayXd& targets, const org& o) {
  text_table t;
  t.source = "targets";
  t.columns = {"unit_id", "target"};
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    if (!std::isnan(targets(u))) t.add_row({o.id(u), detail::format_attribute(targets(u))});
  return t;
}

namespace {

org read_org(const std::string& units_path, const std::string& overseers_path) {
  org o = units_path.ends_with(".json") ? read_org_json(units_path) : read_units_csv(units_path);
  if (!overseers_path.empty()) read_overseers_csv(o, overseers_path);
  return o;
}

// Parameters, stocks and targets from the files given (empty = none); the scenario
// must hold its organisation and pipeline already.
void read_parts(scenario& sc, const scenario_files& files, std::vector<std::string>* warnings) {
  const auto& o = sc.units();
  const auto& p = sc.model();
  if (!files.params.empty()) {
    auto w = sc.params.apply(read_csv(files.params), o, p);
    if (warnings) warnings->insert(warnings->end(), w.begin(), w.end());
  }
  if (!files.stocks.empty()) sc.stocks = stocks_from_table(read_csv(files.stocks), o, p);
  if (!files.targets.empty()) sc.targets = targets_from_table(read_csv(files.targets), o);
  sc.validate();
}

}  // namespace

scenario read_scenario(const std::string& units_path, const pipeline& p, const std::string& params_path,
                       const std::string& stocks_path, const std::string& targets_path,
                       std::vector<std::string>* warnings) {
  auto o = std::make_shared<const org>(read_org(units_path, ""));
  scenario sc(o, std::make_shared<const pipeline>(p));
  read_parts(sc, {units_path, "", params_path, stocks_path, targets_path}, warnings);
  return sc;
}

// ---------------------------------------------------------------------------------------
// The manifest.

namespace {

using namespace detail::json_io;

stage_kind kind_from_name(const std::string& name, const std::string& where) {
  if (name == "markov") return stage_kind::markov;
  if (name == "fixed") return stage_kind::fixed;
  if (name == "terminal") return stage_kind::terminal;
  throw input_error(where + ": unknown stage kind '" + name + "' (valid: markov, fixed, terminal)");
}

const char* kind_name(stage_kind k) {
  switch (k) {
    case stage_kind::markov: return "markov";
    case stage_kind::fixed: return "fixed";
    case stage_kind::terminal: return "terminal";
  }
  return "markov";
}

stage stage_from_json(const json& j, std::size_t i, const std::string& source) {
  const auto where = source + ": pipeline stage " + std::to_string(i + 1);
  require_keys(j, {"name", "kind", "months", "advance", "exit", "pass_rate", "attrition", "inflow", "transfer_in"},
               where);
  if (!j.contains("name") || !j.contains("kind")) throw input_error(where + ": 'name' and 'kind' are required");
  stage st;
  st.name = json_string(j["name"], where + ", name");
  const auto at = source + ": stage '" + st.name + "'";
  st.kind = kind_from_name(json_string(j["kind"], at + ", kind"), at);
  if (st.kind == stage_kind::fixed) {
    if (!j.contains("months") || !j["months"].is_number_integer() || j["months"].get<long long>() < 1 ||
        j["months"].get<long long>() > 1200)
      throw input_error(at + ": a fixed stage needs 'months', a whole number of months from 1 to 1200" +
                        (j.contains("months") ? ", got " + j["months"].dump() : std::string()));
    st.months = static_cast<int>(j["months"].get<long long>());
  } else if (j.contains("months")) {
    throw input_error(at + ": 'months' applies to fixed stages only");
  }
  // A parameter the stage's kind or position does not take is refused by the pipeline.
  for (auto q : all_params) {
    const auto key = std::string(param_name(q));
    if (j.contains(key)) st.set(q, json_number(j[key], at + ", " + key));
  }
  return st;
}

json stage_to_json(const pipeline& p, std::size_t s) {
  const auto& st = p.stages()[s];
  json j;
  j["name"] = st.name;
  j["kind"] = kind_name(st.kind);
  if (st.kind == stage_kind::fixed) j["months"] = st.months;
  for (auto q : all_params)
    if (p.takes(s, q)) j[std::string(param_name(q))] = st.get(q);
  return j;
}

pipeline pipeline_from(const json& j, const std::string& source) {
  if (j.is_string()) {
    if (j.get<std::string>() == "party") return pipeline::party();
    throw input_error(source + ": unknown pipeline preset " + j.dump() + " (valid: \"party\", or a pipeline object)");
  }
  require_keys(j, {"admission", "stages"}, source + ": pipeline");
  if (!j.contains("stages") || !j["stages"].is_array())
    throw input_error(source + ": pipeline: 'stages' must be a list of stages");
  if (!j.contains("admission")) throw input_error(source + ": pipeline: 'admission' (the admission stage) is required");
  std::vector<stage> stages;
  for (std::size_t i = 0; i < j["stages"].size(); ++i)
    stages.push_back(stage_from_json(j["stages"][i], i, source));
  try {
    return pipeline(std::move(stages), json_string(j["admission"], source + ": pipeline, admission"));
  } catch (const parameter_error& e) {
    throw parameter_error(source + ": pipeline: " + e.what());
  }
}

json pipeline_json(const pipeline& p) {
  json j;
  j["admission"] = p.stages()[p.admission()].name;
  j["stages"] = json::array();
  for (std::size_t s = 0; s < p.size(); ++s) j["stages"].push_back(stage_to_json(p, s));
  return j;
}


}  // namespace

std::string pipeline_to_json(const pipeline& p) { return pipeline_json(p).dump(2); }

pipeline pipeline_from_json(const std::string& text, const std::string& source) {
  return pipeline_from(parse_json(text, source), source);
}

pipeline read_pipeline_json(const std::string& path) { return pipeline_from_json(detail::read_text_file(path), path); }

scenario read_scenario(const std::string& path, const scenario_files& overrides, std::vector<std::string>* warnings) {
  std::error_code ec;
  const fs::path manifest = fs::is_directory(path, ec) ? fs::path(path) / manifest_file_name : fs::path(path);
  if (!fs::exists(manifest, ec))
    throw input_error(manifest.string() + ": no scenario manifest here (write one with `memberflow example DIR` "
                                          "or Scenario.to_files)");
  const auto source = manifest.string();
  const auto doc = parse_json(detail::read_text_file(source), source);
  require_keys(doc, {"memberflow_scenario", "start", "pipeline", "files"}, source);
  if (!doc.contains("memberflow_scenario") || !doc["memberflow_scenario"].is_number_integer())
    throw input_error(source + ": 'memberflow_scenario' (the format version, " + std::to_string(manifest_version) +
                      ") is required");
  if (doc["memberflow_scenario"].get<long long>() != manifest_version)
    throw input_error(source + ": format version " + doc["memberflow_scenario"].dump() + " is not supported (this is " +
                      std::to_string(manifest_version) + ")");
  if (!doc.contains("pipeline")) throw input_error(source + ": 'pipeline' is required (an object, or \"party\")");
  auto p = std::make_shared<const pipeline>(pipeline_from(doc["pipeline"], source));

  const auto dir = manifest.parent_path();
  scenario_files files;
  if (doc.contains("files")) {
    const auto& f = doc["files"];
    require_keys(f, {"units", "overseers", "params", "stocks", "targets"}, source + ": files");
    for (auto [key, slot] : {std::pair{"units", &files.units}, {"overseers", &files.overseers},
                             {"params", &files.params}, {"stocks", &files.stocks}, {"targets", &files.targets}})
      if (f.contains(key)) *slot = resolve(dir, json_string(f[key], source + ": files, " + key));
  }
  for (auto [given, slot] : {std::pair{&overrides.units, &files.units}, {&overrides.overseers, &files.overseers},
                             {&overrides.params, &files.params}, {&overrides.stocks, &files.stocks},
                             {&overrides.targets, &files.targets}})
    if (!given->empty()) *slot = *given;
  if (files.units.empty()) throw input_error(source + ": files: 'units' is required");

  auto o = std::make_shared<const org>(read_org(files.units, files.overseers));
  scenario sc(o, p);
  sc.params.defaults_source = source + ": pipeline";
  if (doc.contains("start")) sc.start = calendar_month::parse(json_string(doc["start"], source + ": start"), source + ": start");
  read_parts(sc, files, warnings);
  return sc;
}

scenario_files write_scenario(const scenario& sc, const std::string& directory) {
  sc.validate();
  const fs::path dir(directory);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw input_error(directory + ": cannot create the directory (" + ec.message() + ")");
  scenario_files names{"units.csv", "overseers.csv", "params.csv", "stocks.csv", "targets.csv"};
  scenario_files paths{(dir / names.units).string(), (dir / names.overseers).string(), (dir / names.params).string(),
                       (dir / names.stocks).string(), (dir / names.targets).string()};
  write_units_csv(sc.units(), paths.units);
  write_csv(sc.units().overseers_table(), paths.overseers);
  write_csv(sc.params.to_table(sc.units(), sc.model()), paths.params);
  write_csv(stocks_to_table(sc.stocks, sc.units(), sc.model()), paths.stocks);
  write_csv(targets_to_table(sc.targets, sc.units()), paths.targets);

  json doc;
  doc["memberflow_scenario"] = manifest_version;
  if (sc.start) doc["start"] = sc.start->str();
  doc["pipeline"] = pipeline_json(sc.model());
  doc["files"] = {{"units", names.units}, {"overseers", names.overseers}, {"params", names.params},
                  {"stocks", names.stocks}, {"targets", names.targets}};
  std::ofstream out(dir / manifest_file_name, std::ios::binary);
  if (!out) throw input_error((dir / manifest_file_name).string() + ": cannot open the file for writing");
  out << doc.dump(2) << '\n';
  return paths;
}

}  // namespace memberflow
