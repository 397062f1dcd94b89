#include "memberflow/error.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace memberflow {

std::string source_location::describe() const {
  std::string where = source;
  if (line > 0) {
    if (!where.empty()) where += ' ';
    where.append(noun).append(" ").append(std::to_string(line));
  }
  if (!label.empty()) where += " (index label " + label + ")";
  if (where.empty()) where = "input";
  return where;
}

namespace detail {

double available_memory() {
  double bytes = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    bytes = std::min(bytes, static_cast<double>(limit.rlim_cur));
  return bytes > 0 ? bytes : 1e18;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
  int i = 0;
  while (bytes >= 1000 && i < 6) bytes /= 1000, ++i;
  char out[64];
  std::snprintf(out, sizeof out, i == 0 ? "%.0f %s" : "%.3g %s", bytes, units[i]);
  return out;
}

void check_fits_memory(double bytes, const std::string& what) {
  const double available = available_memory();
  if (!(bytes <= available))
    throw input_error(what + " would need " + format_bytes(bytes) + " of memory, more than the " +
                      format_bytes(available) + " this process may use");
}

}  // namespace detail

}  // namespace memberflow
