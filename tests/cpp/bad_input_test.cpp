// The C++ side of the bad-input catalogue (tests/python/test_bad_input.py): what the
// loaders and engines refuse, and that each message says where and what.
#include <filesystem>
#include <string>

#include "catch.hpp"
#include "memberflow/memberflow.hpp"

using namespace memberflow;
using namespace std::string_literals;

TEST_CASE("text that is not UTF-8 is refused naming the line and byte", "[bad_input]") {
  REQUIRE_THROWS_AS_WITH(read_csv_text("unit_id,parent_id\nD,\nA\xC3(,D\n", "u.csv"), input_error,
                         mf_test::contains("u.csv line 3, byte 2: invalid UTF-8 (byte 0xC3)"));
  // Overlong forms, surrogates and code points above U+10FFFF are not UTF-8 either.
  for (const char* bad : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82"}) {
    INFO(bad);
    REQUIRE_THROWS_AS_WITH(read_csv_text(std::string("a\n") + bad + "\n", "x.csv"), input_error,
                           mf_test::contains("x.csv line 2, byte 1: invalid UTF-8"));
  }
  CHECK(read_csv_text("a,b\n\xE2\x82\xAC,\xF0\x9F\x98\x80\n", "ok.csv").rows[0][0] == "\xE2\x82\xAC");
  REQUIRE_THROWS_AS_WITH(read_csv_text("a\nx\0y\n"s, "n.csv"), input_error,
                         mf_test::contains("n.csv line 2, byte 2: a NUL byte"));
  REQUIRE_THROWS_AS_WITH(read_csv_text("\xFF\xFE" "a\0,\0b\0"s, "w.csv"), input_error,
                         mf_test::contains("w.csv: looks like UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8"));
  REQUIRE_THROWS_AS_WITH(read_csv_text("a\0,\0b\0\n\0"s, "w.csv"), input_error,
                         mf_test::contains("w.csv: looks like UTF-16 (4 of its first 8 bytes are NUL)"));
  REQUIRE_THROWS_AS_WITH(org_from_json("{\"units\": [{\"unit_id\": \"\xFF\"}]}", "o.json"), input_error,
                         mf_test::contains("o.json line 1, byte 25: invalid UTF-8"));
}

TEST_CASE("a directory given as a file says so", "[bad_input]") {
  const auto dir = std::filesystem::temp_directory_path().string();
  REQUIRE_THROWS_AS_WITH(read_csv(dir), input_error, mf_test::contains(dir + ": is a directory, not a file"));
  REQUIRE_THROWS_AS_WITH(read_org_json(dir), input_error, mf_test::contains("is a directory"));
}

TEST_CASE("ids that read differently to a person and a program are refused", "[bad_input]") {
  auto units = [](const std::string& csv) { return org::from_table(read_csv_text(csv, "u.csv")); };
  REQUIRE_THROWS_AS_WITH(units("unit_id,parent_id\nD,\n\"  \",D\n"), input_error,
                         mf_test::contains("u.csv line 3: unit_id '  ' is blank"));
  REQUIRE_THROWS_AS_WITH(units("unit_id,parent_id\nD,\n\"C01 \",D\nC01,D\n"), input_error,
                         mf_test::contains("u.csv line 3: unit_id 'C01 ' has a space at the start or end"));
  REQUIRE_THROWS_AS_WITH(units("unit_id,parent_id\nD,\n\"A\nB\",D\n"), input_error,
                         mf_test::contains("u.csv line 3: unit_id 'A\\x0AB' contains a control character"));
  REQUIRE_THROWS_AS_WITH(units("unit_id,parent_id\nD,\nA,\" D\"\n"), input_error,
                         mf_test::contains("u.csv line 3: parent_id ' D' has a space"));
  org o = units("unit_id,parent_id\nD,\nA,D\n");
  REQUIRE_THROWS_AS_WITH(o.set_overseers(read_csv_text("overseer_id,unit_id\n\"S\t\",A\n", "ov.csv")), input_error,
                         mf_test::contains("ov.csv line 2: overseer_id 'S\\x09' contains a control character"));
}

TEST_CASE("JSON ids are strings or exact integers", "[bad_input]") {
  const auto o = org_from_json(R"({"units": [{"unit_id": "D"}, {"unit_id": 18446744073709551615, "parent_id": "D"},
                                               {"unit_id": -9223372036854775808, "parent_id": "D"}]})");
  CHECK(o.ids() == std::vector<std::string>{"D", "18446744073709551615", "-9223372036854775808"});
  REQUIRE_THROWS_AS_WITH(org_from_json(R"({"units": [{"unit_id": 1.0}]})", "o.json"), input_error,
                         mf_test::contains("o.json unit 1: 'unit_id' must be a string or an integer, got 1.0"));
  REQUIRE_THROWS_AS_WITH(org_from_json(R"({"units": [{"unit_id": "D", "parent_id": false}]})", "o.json"), input_error,
                         mf_test::contains("o.json unit 1: 'parent_id' must be a string or an integer, got false"));
  REQUIRE_THROWS_AS_WITH(org_from_json(R"({"units": [{"unit_id": "D", "x": 1e999}]})", "o.json"), input_error,
                         mf_test::contains("o.json: malformed JSON"));
}

TEST_CASE("a long cycle is named by its first ids and its length", "[bad_input]") {
  std::vector<unit_record> records;
  for (int i = 0; i < 50000; ++i) records.push_back({"U" + std::to_string(i), "U" + std::to_string((i + 1) % 50000), "", ""});
  records.push_back({"R", "", "", ""});
  try {
    org o(records);
    FAIL("the cycle was accepted");
  } catch (const input_error& e) {
    const std::string what = e.what();
    CHECK(what.size() < 300);
    CHECK_THAT(what, mf_test::contains("cycle in the parent links: 'U0' -> 'U1' -> 'U2' -> 'U3' -> 'U4' -> 'U5' -> "
                                       "... (a loop of 50000 units)"));
  }
}

TEST_CASE("the engines refuse up front what they cannot do, giving the size", "[bad_input]") {
  auto sc = datasets::example_district();
  simulation_options opt;
  opt.paths = 10;
  opt.threads = 40000;
  REQUIRE_THROWS_AS_WITH(simulate(sc, 12, opt), input_error, mf_test::contains("threads must be 0 (one per core) .. 1024"));
  opt.threads = 1;
  opt.paths = 1000000000;
  REQUIRE_THROWS_AS_WITH(simulate(sc, 12, opt), input_error,
                         mf_test::contains("paths x units x months = 1000000000 x 267 x 12 = 3.2e+12 unit-months"));
  opt.paths = 10;
  auto big = sc;
  big.params.transfer_in(0) = 9.2e18;  // beyond any organisation: refused by the scenario's checks
  REQUIRE_THROWS_AS_WITH(simulate(big, 12, opt), parameter_error,
                         mf_test::contains("transfer_in = 9.2e+18 is outside [0, 1e9] (people per month)"));
  big.params.transfer_in(0) = 1e9;  // allowed, but more people than a simulation tracks
  REQUIRE_THROWS_AS_WITH(simulate(big, 12, opt), input_error,
                         mf_test::contains("could see 1.2e+10 people over 12 months"));
  big = sc;
  big.params.inflow(3) = 1e9;
  REQUIRE_THROWS_AS_WITH(simulate(big, 12, opt), input_error, mf_test::contains("at most 10^9 people per unit"));
  big = sc;
  const auto full = static_cast<Eigen::Index>(sc.model().offset(sc.model().terminal()));
  big.stocks(3, full) = 9007199254740992.0;  // 2^53 members: a pmf far wider than 2^24 values
  const exact_forecast ex(big, 12);
  REQUIRE_THROWS_AS_WITH(ex.stock("full", 12), input_error, mf_test::contains("above the limit of 2^24 entries"));
  // Within the bounds all is well.
  CHECK(exact_forecast(sc, 12).events("admissions", {0, 12}).max_tail() <= 1e-12);
}
