#pragma once
// Numerical helpers shared by the samplers and the pmfs.
#include <cmath>

namespace memberflow {

// log |Gamma(x)|, safe to call from several threads at once: std::lgamma may set the
// global `signgam` (POSIX), a data race when the simulation's workers draw together;
// lgamma_r returns the sign through its argument instead.
inline double log_gamma(double x) {
#if defined(__unix__) || defined(__APPLE__)
  int sign = 0;
  return ::lgamma_r(x, &sign);
#else
  return std::lgamma(x);  // MSVC's does not touch a global
#endif
}

// The log-odds and its inverse: the scale on which rates drift and units differ.
inline double logit(double p) { return std::log(p / (1 - p)); }
inline double logistic(double x) { return 1 / (1 + std::exp(-x)); }

// Whether r >= h - log1p(a / b), for a >= 0 and b > 0, decided exactly as that expression
// evaluated in floating point decides it, but mostly without the logarithm. For
// x = a / b <= 2, with z = x / (2 + x) = a / (2b + a) <= 1/2 (one division),
// log1p(x) = 2 atanh(z) = 2 (z + z^3/3 + z^5/5 + ...): the first three terms are a lower
// bound, and since the rest is at most z^7 / (5 (1 - z^2)) <= z^7 4/15, adding that is
// an upper one (a window of ~0.53 z^7: 2e-4 at x = 1, 3e-7 at x = 0.3). Each bound is
// widened by 2^-40 of itself, far more than its own rounding, the rounding of x, and any
// libm's log1p error, so it bounds the logarithm's computed value and hence (a
// subtraction rounds monotonically) the computed difference; only an r inside the window
// pays for log1p.
inline bool at_least_minus_log1p(double r, double h, double a, double b = 1) {
  if (a <= 2 * b) {
    const double z = a / (2 * b + a), z2 = z * z;
    const double series = z + z * z2 * (1.0 / 3 + z2 / 5);
    if (r >= h - 2 * series * (1 - 0x1p-40)) return true;
    if (r < h - 2 * (series + z * z2 * z2 * z2 * (4.0 / 15)) * (1 + 0x1p-40)) return false;
  }
  return r >= h - std::log1p(a / b);
}

}  // namespace memberflow
