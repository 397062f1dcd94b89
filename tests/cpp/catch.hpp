#pragma once
// One include for Catch2 v2 (Debian 12) and v3 (Debian 13).
#include <string>
#if defined(MEMBERFLOW_CATCH3)
#include <catch2/catch_all.hpp>
namespace mf_test {
inline auto contains(const std::string& s) { return Catch::Matchers::ContainsSubstring(s); }
}  // namespace mf_test
#else
#include <catch2/catch.hpp>
namespace Catch {
using Detail::Approx;  // v3 spells it Catch::Approx; v2 only has Catch::Detail::Approx
}  // namespace Catch
namespace mf_test {
inline auto contains(const std::string& s) { return Catch::Matchers::Contains(s); }
}  // namespace mf_test
#endif

// Checks the exception's type and its message.
#define REQUIRE_THROWS_AS_WITH(expr, type, matcher) \
  do {                                              \
    REQUIRE_THROWS_AS(expr, type);                  \
    REQUIRE_THROWS_WITH(expr, matcher);             \
  } while (false)
