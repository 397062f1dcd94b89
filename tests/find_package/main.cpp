// Forecasts the example district through the installed library, writes it as a scenario
// directory and reads it back (the file readers are compiled into the installed library
// with their private dependencies), and checks that both give the same forecast.
#include <memberflow/memberflow.hpp>

#include <cmath>
#include <filesystem>
#include <iostream>

int main() {
  const auto scn = memberflow::datasets::example_district();
  const auto fc = memberflow::forecast_expected(scn, 12);
  const double admissions = fc.total("admissions", fc.whole())(scn.units().root());
  std::cout << "example district, expected admissions over 12 months: " << admissions << "\n";

  const auto dir = std::filesystem::temp_directory_path() / "memberflow_consumer_scenario";
  memberflow::write_scenario(scn, dir.string());
  const auto back = memberflow::read_scenario(dir.string());
  const auto again = memberflow::forecast_expected(back, 12);
  const double read_back = again.total("admissions", again.whole())(back.units().root());
  std::cout << "read back from " << dir.string() << ": " << read_back << "\n";
  std::filesystem::remove_all(dir);
  const bool ok = std::isfinite(admissions) && admissions > 50 && admissions < 150 && read_back == admissions;
  return ok ? 0 : 1;
}
