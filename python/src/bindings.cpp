// The helpers that bindings.hpp declares for every binding file: text tables from and to
// Python columns, and pmfs as flat numpy arrays.
#include "bindings.hpp"

namespace memberflow::python {

text_table table_from_columns(const std::string& source, const std::vector<std::string>& names,
                              const std::vector<std::vector<std::string>>& columns, long first_row) {
  if (names.size() != columns.size()) throw input_error(source + ": one list of cells per column name");
  text_table t;
  t.source = source;
  t.noun = "row";
  t.columns = names;
  const auto n = columns.empty() ? 0 : columns[0].size();
  for (const auto& c : columns)
    if (c.size() != n) throw input_error(source + ": columns of different lengths");
  t.rows.resize(n);
  t.lines.resize(n);
  for (std::size_t r = 0; r < n; ++r) {
    t.rows[r].reserve(columns.size());
    for (const auto& c : columns) t.rows[r].push_back(c[r]);
    t.lines[r] = first_row + static_cast<long>(r);
  }
  return t;
}

py::dict table_to_columns(const text_table& t) {
  py::dict out;
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    py::list cells(t.rows.size());
    for (std::size_t r = 0; r < t.rows.size(); ++r) cells[r] = py::str(t.rows[r][c]);
    out[py::str(t.columns[c])] = cells;
  }
  return out;
}

py::dict pmfs_to_python(const std::vector<pmf>& nodes) {
  const auto n = static_cast<py::ssize_t>(nodes.size());
  py::array_t<std::int64_t> offsets(n), starts(n + 1);
  py::array_t<double> tails(n);
  std::size_t total = 0;
  for (const auto& f : nodes) total += f.p.size();
  py::array_t<double> probs(static_cast<py::ssize_t>(total));
  std::size_t at = 0;
  for (py::ssize_t u = 0; u < n; ++u) {
    const auto& f = nodes[static_cast<std::size_t>(u)];
    offsets.mutable_at(u) = f.offset;
    starts.mutable_at(u) = static_cast<std::int64_t>(at);
    tails.mutable_at(u) = f.tail;
    std::copy(f.p.begin(), f.p.end(), probs.mutable_data() + at);
    at += f.p.size();
  }
  starts.mutable_at(n) = static_cast<std::int64_t>(at);
  py::dict result;
  result["offsets"] = offsets;
  result["starts"] = starts;
  result["probs"] = probs;
  result["tails"] = tails;
  return result;
}

}  // namespace memberflow::python
