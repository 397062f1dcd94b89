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

}  // namespace memberflow
