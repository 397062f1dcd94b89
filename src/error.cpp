#include "memberflow/error.hpp"

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

}  // namespace memberflow
