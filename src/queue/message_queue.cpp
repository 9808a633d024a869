#include "queue/message_queue.hpp"

#include <vector>

namespace cohort::queue {
namespace {

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  while (true) {
    std::size_t dot = text.find('.');
    words.push_back(text.substr(0, dot));
    if (dot == std::string_view::npos) return words;
    text.remove_prefix(dot + 1);
  }
}

bool MatchWords(std::span<const std::string_view> pattern, std::span<const std::string_view> key) {
  if (pattern.empty()) return key.empty();
  if (pattern.front() == "#") {
    // '#' takes zero words, or one word and stays.
    return MatchWords(pattern.subspan(1), key) || (!key.empty() && MatchWords(pattern, key.subspan(1)));
  }
  if (key.empty()) return false;
  if (pattern.front() != "*" && pattern.front() != key.front()) return false;
  return MatchWords(pattern.subspan(1), key.subspan(1));
}

}  // namespace

bool TopicMatches(std::string_view pattern, std::string_view type) {
  std::vector<std::string_view> pattern_words = Words(pattern);
  std::vector<std::string_view> key_words = Words(type);
  return MatchWords(pattern_words, key_words);
}

}  // namespace cohort::queue
