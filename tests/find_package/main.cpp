// Forecasts the example district through the installed library and checks the result.
#include <memberflow/memberflow.hpp>

#include <cmath>
#include <iostream>

int main() {
  const auto scn = memberflow::datasets::example_district();
  const auto fc = memberflow::forecast_expected(scn, 12);
  const double admissions = fc.total("admissions", fc.whole())(scn.units().root());
  std::cout << "example district, expected admissions over 12 months: " << admissions << "\n";
  const bool ok = std::isfinite(admissions) && admissions > 50 && admissions < 150;
  return ok ? 0 : 1;
}
