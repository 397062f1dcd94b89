// CSV reading (RFC 4180 quoting, BOM, line numbers) and the strict cell parsers.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "catch.hpp"
#include "memberflow/table.hpp"

using namespace memberflow;

namespace {

std::string data(const std::string& name) { return std::string(MEMBERFLOW_TEST_DATA) + "/" + name; }

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("memberflow_table_test_" + std::to_string(::getpid()) + "_" + name);
}

}  // namespace

TEST_CASE("read_csv keeps commas, newlines and doubled quotes inside quoted fields and drops a BOM", "[table]") {
  const auto t = read_csv(data("table_quoted_bom.csv"));
  REQUIRE(t.columns == std::vector<std::string>{"id", "text", "n"});  // no BOM glued to "id"
  REQUIRE(t.source == data("table_quoted_bom.csv"));
  REQUIRE(t.rows.size() == 4);
  CHECK(t.rows[0] == std::vector<std::string>{"1", "a, b", "10"});
  CHECK(t.rows[1] == std::vector<std::string>{"2", "line one\nline two\nline three", "20"});
  CHECK(t.rows[2] == std::vector<std::string>{"3", "she said \"no\"", "30"});
  CHECK(t.rows[3] == std::vector<std::string>{"4", "", "40"});
  // Physical lines: header 1, record 2, the three-line record starts on 3, then 6 and 7.
  CHECK(t.lines == std::vector<long>{2, 3, 6, 7});
  CHECK(t.where(2).describe() == data("table_quoted_bom.csv") + " line 6");
}

TEST_CASE("read_csv reports a bad record after a multi-line record at its own physical line", "[table]") {
  // Line 2 holds a record whose field spans lines 2-3; the bad record is on line 4.
  REQUIRE_THROWS_AS_WITH(read_csv(data("table_bad_after_multiline.csv")), input_error,
                         mf_test::contains("table_bad_after_multiline.csv line 4: 4 fields where the header has 3"));
}

TEST_CASE("read_csv numbers a record whose first field spans lines by the line it starts on", "[table]") {
  const auto t = read_csv(data("table_multiline_first_field.csv"));
  REQUIRE(t.columns == std::vector<std::string>{"first\nfield", "b"});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0] == std::vector<std::string>{"x\ny", "z"});
  CHECK(t.lines == std::vector<long>{3, 5});
}

TEST_CASE("read_csv reads CRLF line endings like LF and keeps a quoted CRLF", "[table]") {
  const auto t = read_csv(data("table_crlf.csv"));
  REQUIRE(t.columns == std::vector<std::string>{"id", "text"});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0] == std::vector<std::string>{"1", "alpha"});
  CHECK(t.rows[1] == std::vector<std::string>{"2", "beta\r\ngamma"});
  CHECK(t.lines == std::vector<long>{2, 3});
}

TEST_CASE("read_csv refuses a missing file, an empty file and a bad header", "[table]") {
  REQUIRE_THROWS_AS_WITH(read_csv(data("no_such_file.csv")), input_error,
                         mf_test::contains("no_such_file.csv: cannot open the file"));
  REQUIRE_THROWS_AS_WITH(read_csv(data("table_empty.csv")), input_error,
                         mf_test::contains("table_empty.csv: the file is empty"));
  REQUIRE_THROWS_AS_WITH(read_csv(data("table_duplicate_header.csv")), input_error,
                         mf_test::contains("line 1: column 'a' appears twice in the header"));
  REQUIRE_THROWS_AS_WITH(read_csv(data("table_empty_header.csv")), input_error,
                         mf_test::contains("line 1: empty column name in the header"));
}

TEST_CASE("require_column names the source and the missing column; find_column returns npos", "[table]") {
  text_table t;
  t.source = "units.csv";
  t.columns = {"a", "b"};
  CHECK(t.find_column("b") == 1);
  CHECK(t.find_column("c") == text_table::npos);
  CHECK(t.require_column("a") == 0);
  REQUIRE_THROWS_AS_WITH(t.require_column("c"), input_error, mf_test::contains("units.csv: missing column 'c'"));
}

TEST_CASE("add_row numbers in-memory rows from 1 and where() describes them with the noun", "[table]") {
  text_table t;
  t.source = "DataFrame";
  t.noun = "row";
  t.columns = {"x"};
  t.add_row({"1"});
  t.add_row({"2"});
  CHECK(t.lines == std::vector<long>{1, 2});
  CHECK(t.where(1).describe() == "DataFrame row 2");
  CHECK(source_location{"", 0}.describe() == "input");
  CHECK(source_location{"", 4}.describe() == "line 4");
}

TEST_CASE("write_csv quotes only what needs it and read_csv reads the same cells back", "[table]") {
  text_table t;
  t.columns = {"plain", "tricky"};
  t.add_row({"abc", "comma, here"});
  t.add_row({"", "quote \" here"});
  t.add_row({"x", "new\nline"});
  t.add_row({"y", " leading space"});
  std::ostringstream out;
  write_csv(t, out);
  CHECK(out.str() ==
        "plain,tricky\nabc,\"comma, here\"\n,\"quote \"\" here\"\nx,\"new\nline\"\ny,\" leading space\"\n");
  const auto path = temp_file("roundtrip.csv");
  write_csv(t, path.string());
  const auto back = read_csv(path.string());
  std::filesystem::remove(path);
  CHECK(back.columns == t.columns);
  CHECK(back.rows == t.rows);
  CHECK(back.lines == std::vector<long>{2, 3, 4, 6});
}

TEST_CASE("parse_double accepts finite decimal numbers only and names the place and column", "[table]") {
  const source_location at{"params.csv", 7};
  CHECK(detail::parse_double("0.25", at, "value") == 0.25);
  CHECK(detail::parse_double("-3", at, "value") == -3.0);
  CHECK(detail::parse_double("1e-3", at, "value") == 0.001);
  for (const char* bad : {"", "abc", "0.5x", " 1", "inf", "nan", "1e999", "0x10"}) {
    INFO("cell '" << bad << "'");
    REQUIRE_THROWS_AS_WITH(detail::parse_double(bad, at, "value"), input_error,
                           mf_test::contains("params.csv line 7: column 'value' must be a finite number, got '" +
                                             std::string(bad) + "'"));
  }
}

TEST_CASE("parse_integer accepts integers and integral decimals and refuses the rest", "[table]") {
  const source_location at{"stocks.csv", 3};
  CHECK(detail::parse_integer("12", at, "count") == 12);
  CHECK(detail::parse_integer("-4", at, "count") == -4);
  CHECK(detail::parse_integer("12.0", at, "count") == 12);  // pandas writes counts so after a NaN
  CHECK(detail::parse_integer("9007199254740991", at, "count") == 9007199254740991LL);
  for (const char* bad : {"", "12.5", "x", "3 "}) {
    INFO("cell '" << bad << "'");
    REQUIRE_THROWS_AS_WITH(detail::parse_integer(bad, at, "count"), input_error,
                           mf_test::contains("stocks.csv line 3: column 'count' must be an integer, got '" +
                                             std::string(bad) + "'"));
  }
  // Counts are doubles: above 2^53 they would be rounded, so they are refused.
  CHECK(detail::parse_integer("9007199254740992", at, "count") == 9007199254740992LL);
  for (const char* big : {"1e20", "99999999999999999999", "9007199254740993", "9223372036854775807", "-1e16"}) {
    INFO("cell '" << big << "'");
    REQUIRE_THROWS_AS_WITH(detail::parse_integer(big, at, "count"), input_error,
                           mf_test::contains("stocks.csv line 3: column 'count' must be an integer of at most 2^53 = "
                                             "9007199254740992 in magnitude, got '" + std::string(big) + "'"));
  }
}
