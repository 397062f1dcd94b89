// The helpers that bindings.hpp declares for every binding file: text tables from and to
// Python columns, and pmfs as flat numpy arrays.
#include "bindings.hpp"

namespace memberflow::python {

text_table table_from_columns(const std::string& source, const std::vector<std::string>& names,
                              const std::vector<std::vector<std::string>>& columns, long first_row,
                              const std::vector<std::string>& labels) {
  if (names.size() != columns.size()) throw input_error(source + ": one list of cells per column name");
  text_table t;
  t.source = source;
  t.noun = "row";
  t.columns = names;
  const auto n = columns.empty() ? 0 : columns[0].size();
  for (const auto& c : columns)
    if (c.size() != n) throw input_error(source + ": columns of different lengths");
  if (!labels.empty() && labels.size() != n) throw input_error(source + ": one index label per row");
  t.labels = labels;
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
  pmf_table table;
  for (const auto& f : nodes) table.push_back(f);
  return pmfs_to_python(table);
}

py::dict pmfs_to_python(const pmf_table& nodes) {
  const auto n = static_cast<py::ssize_t>(nodes.size());
  py::array_t<std::int64_t> offsets(n), starts(n + 1);
  py::array_t<double> tails(n), probs(static_cast<py::ssize_t>(nodes.probs.size()));
  std::copy(nodes.offsets.begin(), nodes.offsets.end(), offsets.mutable_data());
  std::copy(nodes.starts.begin(), nodes.starts.end(), starts.mutable_data());
  std::copy(nodes.tails.begin(), nodes.tails.end(), tails.mutable_data());
  std::copy(nodes.probs.begin(), nodes.probs.end(), probs.mutable_data());
  py::dict result;
  result["offsets"] = offsets;
  result["starts"] = starts;
  result["probs"] = probs;
  result["tails"] = tails;
  return result;
}

}  // namespace memberflow::python
