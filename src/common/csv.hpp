#pragma once
// A streaming RFC 4180 CSV reader: comma-separated, fields optionally in double quotes (a quote inside is
// doubled), quoted fields may span lines; CRLF or LF line ends; a UTF-8 byte-order mark is skipped.

#include <istream>
#include <string>
#include <vector>

namespace cohort {

class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) {}
  // Reads the next record into `fields`; false at the end of input.
  bool Next(std::vector<std::string>& fields);
  // The line on which the last record started (1-based).
  std::size_t line() const { return record_line_; }

 private:
  std::istream& in_;
  std::size_t next_line_ = 1;
  std::size_t record_line_ = 0;
  bool started_ = false;
};

}  // namespace cohort
