// CSV reading on top of libcsv, which handles the quoting rules of RFC 4180; this file
// adds what libcsv leaves to its caller: line numbers, a header, and a field count check.
#include <csv.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>

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
    throw input_error(source_location{source, 0, noun, {}}.describe() + ": missing column '" +
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

text_table read_csv_text(std::string_view text, const std::string& path) {
  detail::check_text(text, path);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte-order mark
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
    throw error("libcsv could not be initialised");
  // RFC 4180: spaces are part of a field. libcsv trims them from unquoted fields by
  // default, which would turn "C01-01 " into "C01-01" without a word; kept, such an id
  // is refused by the id checks and a name keeps its spaces.
  csv_set_space_func(&parser, [](unsigned char) { return 0; });
  csv_reader_state st{path, 0, 0, false, {}, {}};
  st.table.source = path;
  auto fail = [&](const std::string& what) {
    throw input_error(path + " line " + std::to_string(st.current_line) + ": " + what);
  };
  std::string line;
  try {
    // Line by line (as std::getline would split them), to count lines for messages.
    for (std::size_t at = 0; at < text.size();) {
      const auto end = std::min(text.find('\n', at), text.size());
      line.assign(text.substr(at, end - at));
      at = end + 1;
      ++st.current_line;
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

text_table read_csv(const std::string& path) { return read_csv_text(detail::read_text_file(path), path); }

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

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw input_error(path + ": is a directory, not a file");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw input_error(path + ": cannot open the file for reading" +
                      (errno ? std::string(" (") + std::strerror(errno) + ")" : std::string()));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw input_error(path + ": reading the file failed");
  auto text = std::move(buffer).str();
  check_text(text, path);
  return text;
}

namespace {

// The length of the UTF-8 sequence at text[i], or 0 if it is not valid UTF-8 (overlong
// forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  else return 0;
  if (i + n > text.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

[[noreturn]] void bad_text(std::string_view text, std::size_t at, const std::string& source, const std::string& what) {
  long line = 1;
  std::size_t line_start = 0;
  for (std::size_t k = 0; k < at; ++k)
    if (text[k] == '\n') ++line, line_start = k + 1;
  throw input_error(source + " line " + std::to_string(line) + ", byte " + std::to_string(at - line_start + 1) +
                    ": " + what + "; memberflow reads UTF-8 text");
}

}  // namespace

void check_text(std::string_view text, const std::string& source) {
  const auto utf16 = source + ": looks like UTF-16 (";
  const auto save = "); save it as UTF-8";
  if (text.substr(0, 2) == "\xFF\xFE" || text.substr(0, 2) == "\xFE\xFF")
    throw input_error(utf16 + "it starts with a UTF-16 byte-order mark" + save);
  const auto head = text.substr(0, 4096);
  const auto nuls = static_cast<std::size_t>(std::count(head.begin(), head.end(), '\0'));
  if (head.size() >= 4 && nuls * 4 >= head.size())
    throw input_error(utf16 + std::to_string(nuls) + " of its first " + std::to_string(head.size()) +
                      " bytes are NUL" + save);
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\0') bad_text(text, i, source, "a NUL byte");
    const auto n = utf8_length(text, i);
    if (n == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[i]));
      bad_text(text, i, source, std::string("invalid UTF-8 (byte ") + hex + ")");
    }
    i += n;
  }
}

namespace {
constexpr const char* at_most_2_53 = "an integer of at most 2^53 = 9007199254740992 in magnitude";

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

std::string number_text(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);  // shortest round trip
  return std::string(buf, end);
}

long long parse_integer(std::string_view cell, const source_location& where, std::string_view column) {
  long long value = 0;
  const auto* end = cell.data() + cell.size();
  auto [ptr, ec] = std::from_chars(cell.data(), end, value);
  if (cell.empty() || ec != std::errc() || ptr != end) {
    // Accept an integral float such as "12.0" (pandas writes counts that way after NaN).
    double d = 0;
    auto [p2, ec2] = std::from_chars(cell.data(), end, d);
    if (cell.empty() || ec2 != std::errc() || p2 != end || d != std::floor(d))
      bad_number(cell, where, column, "an integer");
    if (std::abs(d) > 9007199254740992.0) bad_number(cell, where, column, at_most_2_53);
    return static_cast<long long>(d);
  }
  // Counts are held as doubles, which hold every integer up to 2^53 exactly and no more.
  if (value > 9007199254740992LL || value < -9007199254740992LL) bad_number(cell, where, column, at_most_2_53);
  return value;
}

}  // namespace detail
}  // namespace memberflow
