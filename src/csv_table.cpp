// CSV reading on top of libcsv, which handles the quoting rules of RFC 4180; this file
// adds what libcsv leaves to its caller: line numbers, a header, and a field count check.
#include <csv.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <ostream>
#include <set>

#include "memberflow/table.hpp"

namespace memberflow {

std::size_t text_table::find_column(std::string_view name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  return npos;
}

std::size_t text_table::require_column(std::string_view name) const {
  const auto i = find_column(name);
  if (i == npos)
    throw input_error(source_location{source, 0, noun}.describe() + ": missing column '" +
                      std::string(name) + "'");
  return i;
}

void text_table::add_row(std::vector<std::string> cells) {
  rows.push_back(std::move(cells));
  lines.push_back(static_cast<long>(rows.size()));
}

namespace {

struct csv_reader_state {
  const std::string& path;
  long current_line = 0;
  long record_line = 0;  // line on which the record being read begins
  bool record_open = false;  // a record has begun and not yet ended
  std::vector<std::string> record;
  text_table table;
};

void on_field(void* data, std::size_t len, void* user) {
  auto& st = *static_cast<csv_reader_state*>(user);
  if (!st.record_open) {  // a second record on a line split by a bare CR
    st.record_line = st.current_line;
    st.record_open = true;
  }
  st.record.emplace_back(static_cast<const char*>(data), len);
}

void on_record_end(int, void* user) {
  auto& st = *static_cast<csv_reader_state*>(user);
  auto& t = st.table;
  if (t.columns.empty()) {
    std::set<std::string> seen;
    for (const auto& name : st.record) {
      if (name.empty())
        throw input_error(st.path + " line " + std::to_string(st.record_line) +
                          ": empty column name in the header");
      if (!seen.insert(name).second)
        throw input_error(st.path + " line " + std::to_string(st.record_line) +
                          ": column '" + name + "' appears twice in the header");
    }
    t.columns = std::move(st.record);
  } else {
    if (st.record.size() != t.columns.size())
      throw input_error(st.path + " line " + std::to_string(st.record_line) + ": " +
                        std::to_string(st.record.size()) + " fields where the header has " +
                        std::to_string(t.columns.size()));
    t.rows.push_back(std::move(st.record));
    t.lines.push_back(st.record_line);
  }
  st.record.clear();
  st.record_open = false;
}

bool needs_quotes(const std::string& cell) {
  return cell.find_first_of(",\"\r\n") != std::string::npos ||
         // libcsv trims unquoted spaces and tabs at the edges of a cell
         (!cell.empty() && (cell.front() == ' ' || cell.back() == ' ' || cell.front() == '\t' || cell.back() == '\t'));
}

}  // namespace

text_table read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path + ": cannot open the file for reading");
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
    throw error("libcsv could not be initialised");
  csv_reader_state st{path, 0, 0, false, {}, {}};
  st.table.source = path;
  auto fail = [&](const std::string& what) {
    throw input_error(path + " line " + std::to_string(st.current_line) + ": " + what);
  };
  std::string line;
  try {
    while (std::getline(in, line)) {
      ++st.current_line;
      if (st.current_line == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
      // A record begins on the first line that is not blank (libcsv skips lines of
      // spaces, tabs and CRs), even if its first field only ends lines later.
      if (!st.record_open && line.find_first_not_of(" \t\r") != std::string::npos) {
        st.record_line = st.current_line;
        st.record_open = true;
      }
      line.push_back('\n');
      if (csv_parse(&parser, line.data(), line.size(), on_field, on_record_end, &st) != line.size())
        fail(std::string("malformed CSV: ") + csv_strerror(csv_error(&parser)));
    }
    if (csv_fini(&parser, on_field, on_record_end, &st) != 0)
      fail(std::string("malformed CSV: ") + csv_strerror(csv_error(&parser)));
  } catch (const input_error&) {
    csv_free(&parser);
    throw;
  }
  csv_free(&parser);
  if (st.table.columns.empty()) throw input_error(path + ": the file is empty (no header line)");
  return std::move(st.table);
}

void write_csv(const text_table& table, std::ostream& out) {
  auto write_row = [&out](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out << ',';
      const auto& c = cells[i];
      if (!needs_quotes(c)) {
        out << c;
        continue;
      }
      out << '"';
      for (char ch : c) out << (ch == '"' ? "\"\"" : std::string(1, ch));
      out << '"';
    }
    out << '\n';
  };
  write_row(table.columns);
  for (const auto& row : table.rows) write_row(row);
}

void write_csv(const text_table& table, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw input_error(path + ": cannot open the file for writing");
  write_csv(table, out);
  if (!out) throw input_error(path + ": writing failed");
}

namespace detail {

namespace {
[[noreturn]] void bad_number(std::string_view cell, const source_location& where,
                             std::string_view column, const char* expected) {
  throw input_error(where.describe() + ": column '" + std::string(column) + "' must be " +
                    expected + ", got '" + std::string(cell) + "'");
}
}  // namespace

double parse_double(std::string_view cell, const source_location& where, std::string_view column) {
  double value = 0;
  const auto* end = cell.data() + cell.size();
  auto [ptr, ec] = std::from_chars(cell.data(), end, value);
  if (cell.empty() || ec != std::errc() || ptr != end || !std::isfinite(value))
    bad_number(cell, where, column, "a finite number");
  return value;
}

long long parse_integer(std::string_view cell, const source_location& where, std::string_view column) {
  long long value = 0;
  const auto* end = cell.data() + cell.size();
  auto [ptr, ec] = std::from_chars(cell.data(), end, value);
  if (cell.empty() || ec != std::errc() || ptr != end) {
    // Accept an integral float such as "12.0" (pandas writes counts that way after NaN).
    double d = 0;
    auto [p2, ec2] = std::from_chars(cell.data(), end, d);
    if (cell.empty() || ec2 != std::errc() || p2 != end || d != std::floor(d) || std::abs(d) > 9e15)
      bad_number(cell, where, column, "an integer");
    return static_cast<long long>(d);
  }
  return value;
}

}  // namespace detail
}  // namespace memberflow
