#pragma once
// JSON manifests (scenario.json, fit.json): parsing with line and column in messages,
// strict keys, typed values, and paths relative to the manifest. Private to src/.
#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "memberflow/error.hpp"

namespace memberflow::detail::json_io {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

inline json parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::out_of_range& e) {  // e.g. a number beyond a double (1e400)
    std::string what = e.what();
    if (auto cut = what.find("] "); cut != std::string::npos) what = what.substr(cut + 2);
    throw input_error(source + ": not valid JSON (" + what + ")");
  } catch (const json::parse_error& e) {
    // nlohmann counts bytes; say the line and column a user's editor shows.
    const auto upto = text.substr(0, std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size()));
    const auto line = 1 + std::count(upto.begin(), upto.end(), '\n');
    const auto column = upto.size() - (upto.rfind('\n') == std::string::npos ? 0 : upto.rfind('\n') + 1) + 1;
    std::string what = e.what();
    if (auto cut = what.find("syntax error"); cut != std::string::npos) what = what.substr(cut);
    throw input_error(source + " line " + std::to_string(line) + ", column " + std::to_string(column) +
                      ": not valid JSON (" + what + ")");
  }
}

inline void require_keys(const json& obj, std::initializer_list<const char*> allowed, const std::string& where) {
  if (!obj.is_object()) throw input_error(where + ": expected a JSON object, got " + obj.dump());
  for (const auto& item : obj.items()) {
    const auto& key = item.key();  // not a structured binding: clang 14 cannot capture one
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) == allowed.end()) {
      std::string valid;
      for (auto a : allowed) valid += (valid.empty() ? "" : ", ") + std::string(a);
      throw input_error(where + ": unknown key '" + key + "' (valid: " + valid + ")");
    }
  }
}

inline std::string json_string(const json& v, const std::string& where) {
  if (!v.is_string()) throw input_error(where + ": expected a string, got " + v.dump());
  return v.get<std::string>();
}

inline double json_number(const json& v, const std::string& where) {
  if (!v.is_number()) throw input_error(where + ": expected a number, got " + v.dump());
  return v.get<double>();
}

// A file named in a manifest: relative paths are relative to the manifest's directory.
inline std::string resolve(const fs::path& dir, const std::string& file) {
  const fs::path f(file);
  return (f.is_absolute() ? f : dir / f).string();
}

}  // namespace memberflow::detail::json_io
