// Runs examples/cpp/district's program (built against the installed tree) on scenario
// directories written here and checks every number it prints against this process's own
// forecasts of the same scenarios: the expected total against the expected-value engine,
// the 90% interval and P(target) against sums over the exact pmf done here.
//
//   forecast_district_check PROGRAM WORK_DIR
#include <memberflow/memberflow.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace mf = memberflow;

namespace {

struct run_result {
  int status = -1;
  std::string out;
};

run_result run(const std::string& program, const std::string& argument) {
  const std::string command = "'" + program + "' '" + argument + "' 2>&1";
  run_result r;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) r.out.append(buffer, n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The smallest k with P(X <= k) >= q, summed here from the pmf's entries.
long long quantile_by_sum(const mf::pmf& f, double q) {
  double below = 0;
  for (long long k = f.first(); k <= f.last(); ++k) {
    below += f.at(k);
    if (below >= q * (1 - 1e-15)) return k;
  }
  return f.last();
}

double upper_tail_by_sum(const mf::pmf& f, long long k) {
  double p = 0;
  for (long long j = std::max(k, f.first()); j <= f.last(); ++j) p += f.at(j);
  return p;
}

bool fail(const std::string& what, const std::string& output) {
  std::cerr << "FAIL: " << what << "\n--- the program printed:\n" << output << "---\n";
  return false;
}

// Writes `scn` to WORK_DIR/name, runs the program on it and compares its three lines.
bool check(const std::string& program, const std::filesystem::path& work, const std::string& name,
           const mf::scenario& scn) {
  const auto dir = work / name;
  std::filesystem::remove_all(dir);
  mf::write_scenario(scn, dir.string());
  const run_result r = run(program, dir.string());
  std::cout << "$ forecast_district " << name << "/\n" << r.out;
  if (r.status != 0) return fail(name + ": exit status " + std::to_string(r.status), r.out);

  const int months = 12;
  const auto root = scn.units().root();
  const mf::pmf total = mf::exact_forecast(scn, months).events("admissions", {0, months}).nodes[root];
  const auto expected = mf::forecast_expected(scn, months);
  const double mean = expected.total("admissions", expected.whole())(root);

  std::istringstream lines(r.out);
  std::string head, body, tail;
  std::getline(lines, head), std::getline(lines, body), std::getline(lines, tail);
  const std::string title = scn.units().name(root) + " (" + scn.units().id(root) + "), admissions over 12 months" +
                            (scn.start ? " from " + scn.start->str() : "");
  if (head != title) return fail(name + ": first line should be '" + title + "'", r.out);

  std::smatch m;
  if (!std::regex_match(body, m, std::regex(R"(  expected ([0-9.]+), 90% interval (\d+) to (\d+))")))
    return fail(name + ": second line", r.out);
  if (std::abs(std::stod(m[1]) - mean) > 0.006)
    return fail(name + ": expected " + m[1].str() + ", the expected-value engine says " + std::to_string(mean), r.out);
  if (std::stoll(m[2]) != quantile_by_sum(total, 0.05) || std::stoll(m[3]) != quantile_by_sum(total, 0.95))
    return fail(name + ": interval, here " + std::to_string(quantile_by_sum(total, 0.05)) + " to " +
                std::to_string(quantile_by_sum(total, 0.95)), r.out);

  const double target = scn.targets[root];
  if (std::isnan(target)) return tail == "  no target" || fail(name + ": third line should say no target", r.out);
  if (!std::regex_match(tail, m, std::regex(R"(  target ([0-9.e+]+): P\(admissions >= (\d+)\) (= \S+|< 1e-12))")))
    return fail(name + ": third line", r.out);
  const long long needed = static_cast<long long>(std::ceil(target));
  const double p = upper_tail_by_sum(total, needed);
  // below the engine's resolution the program says so instead of printing 0
  const bool below = m[3] == "< 1e-12";
  if (std::stod(m[1]) != target || std::stoll(m[2]) != needed || below != (p < 1e-12) ||
      (!below && std::abs(std::stod(m[3].str().substr(2)) - p) > 1e-5 * p))
    return fail(name + ": P(admissions >= " + std::to_string(needed) + ") here is " + std::to_string(p), r.out);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: forecast_district_check PROGRAM WORK_DIR\n";
    return 2;
  }
  const std::string program = argv[1];
  const std::filesystem::path work = argv[2];
  std::filesystem::create_directories(work);

  const mf::scenario district = mf::datasets::example_district();
  const auto root = district.units().root();
  mf::scenario within_reach = district;  // P(target) near 1/2 rather than ~0
  within_reach.targets[root] = 89.5;
  mf::scenario untargeted = district;
  untargeted.targets[root] = std::nan("");

  bool ok = check(program, work, "district", district);
  ok = check(program, work, "within_reach", within_reach) && ok;
  ok = check(program, work, "untargeted", untargeted) && ok;

  // A directory that is not a scenario: a message naming it and exit status 1.
  const run_result missing = run(program, (work / "no_such_scenario").string());
  std::cout << "$ forecast_district no_such_scenario/\n" << missing.out;
  if (missing.status != 1 || missing.out.find("no_such_scenario") == std::string::npos)
    ok = fail("a missing directory: exit status " + std::to_string(missing.status), missing.out);
  std::cout << (ok ? "every number checked: OK\n" : "FAILED\n");
  return ok ? 0 : 1;
}
