#pragma once
// The exceptions memberflow throws. Every message names the thing that is wrong:
// the file and line, the unit id, the stage and parameter.
//
//   error               root of our hierarchy (std::runtime_error)
//   ├── input_error     a malformed file, row or table (duplicate id, cycle, bad number)
//   ├── parameter_error a model parameter outside its domain (probability > 1, ...)
//   └── unknown_id      a unit, stage, parameter or quantity name that does not exist
//
// Python sees them as memberflow.InputError / ParameterError (both ValueError) and
// memberflow.UnknownIdError (a KeyError), all subclasses of memberflow.Error.
#include <stdexcept>
#include <string>

namespace memberflow {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class input_error : public error {
 public:
  using error::error;
};

class parameter_error : public error {
 public:
  using error::error;
};

class unknown_id : public error {
 public:
  using error::error;
};

// Where a row came from, for messages: "units.csv line 7", "row 7" or
// "units DataFrame row 7 (index label 'x')".
struct source_location {
  std::string source;         // file path or a table name ("DataFrame"); may be empty
  long line = 0;              // 1-based line (files) or row (tables); 0 = unknown
  const char* noun = "line";  // "line" for files, "row" for in-memory tables
  std::string label;          // a DataFrame's index label of the row, quoted; may be empty

  std::string describe() const;
};

namespace detail {
// The memory this process may use: the smaller of the machine's physical memory and the
// address-space limit (ulimit -v), in bytes.
double available_memory();
// Throws input_error "<what> would need <size>, more than the <size> of memory ..." when
// `bytes` exceeds available_memory(), so that work that cannot fit is refused up front.
void check_fits_memory(double bytes, const std::string& what);
// "1.6 TB", "512 MB": a size for messages.
std::string format_bytes(double bytes);
}  // namespace detail

}  // namespace memberflow
