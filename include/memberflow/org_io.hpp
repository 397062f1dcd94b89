#pragma once
// Reading and writing organisations. CSV: one row per unit with columns
// unit_id,parent_id,name,kind and any typed attribute columns (the root's parent_id is
// empty); overseers in a second CSV with columns overseer_id,unit_id. JSON:
//   {"units": [{"unit_id": "D", "parent_id": null, "name": "...", "kind": "district",
//               "attributes": {"rural": false}}, ...],
//    "overseers": [{"overseer_id": "S1", "units": ["C01", "C02"]}]}
#include <string>

#include "memberflow/org.hpp"

namespace memberflow {

org read_units_csv(const std::string& path);
void write_units_csv(const org& o, const std::string& path);
void read_overseers_csv(org& o, const std::string& path);

org read_org_json(const std::string& path);
void write_org_json(const org& o, const std::string& path);
std::string org_to_json(const org& o);
org org_from_json(const std::string& text, const std::string& source = "JSON");

namespace detail {
// Attribute columns: the type is inferred from the cells (empty = missing): all
// true/false -> boolean; all integers (written canonically) -> integer; all finite
// numbers -> real; else text.
attribute_column infer_attribute(std::string name, const std::vector<std::string>& cells);
std::string format_attribute(const attribute_value& v);
}  // namespace detail

}  // namespace memberflow
