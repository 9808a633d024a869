#pragma once
// `cohort import events FILE` (NDJSON, or CSV with a header naming the fields) and
// `cohort import retail FILE.csv` (the UCI "Online Retail" layout). Both stream the file in batches,
// report bad lines with their line number, show progress on a terminal and print a summary.

#include <string>

#include "app/stores.hpp"

namespace cohort::app {

int RunImportEvents(Stores& stores, const std::string& path);
int RunImportRetail(Stores& stores, const std::string& path);

}  // namespace cohort::app
