// Message payloads as the consumers read them.

#include "domain/messages.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cohort::domain {
namespace {

TEST(MessagesTest, RecommendationServedIsTheJsonOfItsFields) {
  const std::vector<std::string> products = {"p1", "p\"2\\", "p\n3"};
  const MessageDraft message = RecommendationServedMessage("u\t1", "VIP", products);
  EXPECT_EQ(message.type, kRecommendationServed);
  const auto payload = nlohmann::json::parse(message.payload);
  EXPECT_EQ(payload, (nlohmann::json{{"user_id", "u\t1"}, {"segment", "VIP"}, {"product_ids", products}}));
}

TEST(MessagesTest, RecommendationServedWithoutProductsHasAnEmptyList) {
  const auto payload = nlohmann::json::parse(RecommendationServedMessage("u1", "DORMANT", {}).payload);
  EXPECT_EQ(payload["product_ids"], nlohmann::json::array());
}

}  // namespace
}  // namespace cohort::domain
