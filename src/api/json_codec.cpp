#include "api/json_codec.hpp"

#include <algorithm>
#include <initializer_list>

#include <fmt/format.h>

#include "domain/validation.hpp"

namespace cohort::api {
namespace {

Error Invalid(std::string message) { return Error::InvalidArgument(std::move(message)); }

std::string_view TypeName(const Json& j) {
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "boolean";
  if (j.is_number()) return "number";
  if (j.is_string()) return "string";
  if (j.is_array()) return "array";
  return "object";
}

// Reads the fields of one JSON object, naming each by its path in errors.
class ObjectReader {
 public:
  static Result<ObjectReader> Open(const Json& json, std::string_view path,
                                   std::initializer_list<std::string_view> allowed) {
    if (!json.is_object())
      return Invalid(fmt::format("{} must be a JSON object, not {}", path.empty() ? "the body" : Quote(path),
                                 TypeName(json)));
    for (const auto& [key, value] : json.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        return Invalid(fmt::format("unknown field {}", Quote(Join(path, key))));
    }
    return ObjectReader(json, path);
  }

  bool Has(std::string_view name) const { return json_->contains(name); }

  Result<std::string> String(std::string_view name) const {
    auto it = json_->find(name);
    if (it == json_->end()) return Invalid(fmt::format("missing field {}", Quote(Join(path_, name))));
    if (!it->is_string())
      return Invalid(fmt::format("field {} must be a string, not {}", Quote(Join(path_, name)), TypeName(*it)));
    return it->get<std::string>();
  }

  Result<std::optional<int>> NullableInt(std::string_view name) const {
    const Json& v = json_->at(name);
    if (v.is_null()) return std::optional<int>{};
    if (!v.is_number_integer())
      return Invalid(fmt::format("field {} must be an integer or null, not {}", Quote(Join(path_, name)), TypeName(v)));
    const auto n = v.get<std::int64_t>();
    if (n < -1'000'000 || n > 1'000'000) return Invalid(fmt::format("field {} is out of range", Quote(Join(path_, name))));
    return std::optional<int>{static_cast<int>(n)};
  }

  Result<double> Number(std::string_view name) const {
    auto it = json_->find(name);
    if (it == json_->end()) return Invalid(fmt::format("missing field {}", Quote(Join(path_, name))));
    if (!it->is_number())
      return Invalid(fmt::format("field {} must be a number, not {}", Quote(Join(path_, name)), TypeName(*it)));
    return it->get<double>();
  }

  const Json& Get(std::string_view name) const { return json_->at(name); }
  std::string Path(std::string_view name) const { return Join(path_, name); }

 private:
  ObjectReader(const Json& json, std::string_view path) : json_(&json), path_(path) {}
  static std::string Join(std::string_view path, std::string_view name) {
    return path.empty() ? std::string(name) : fmt::format("{}.{}", path, name);
  }
  static std::string Quote(std::string_view s) { return fmt::format("'{}'", s); }

  const Json* json_;
  std::string path_;
};

Result<domain::Address> AddressFromJson(const Json& json) {
  COHORT_ASSIGN_OR_RETURN(auto r, ObjectReader::Open(json, "address",
                                                     {"street", "postal_code", "city", "country", "country_name"}));
  domain::Address a;
  COHORT_ASSIGN_OR_RETURN(a.street, r.String("street"));
  COHORT_ASSIGN_OR_RETURN(a.postal_code, r.String("postal_code"));
  COHORT_ASSIGN_OR_RETURN(a.city, r.String("city"));
  COHORT_ASSIGN_OR_RETURN(a.country_code, r.String("country"));
  if (r.Has("country_name")) {
    COHORT_ASSIGN_OR_RETURN(a.country_name, r.String("country_name"));
  }
  if (auto problem = domain::ValidateAddress(a)) return Invalid(*problem);
  return a;
}

// Nesting depth of a JSON text, counted outside strings; stops early once past the limit.
int NestingDepth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    else if (c == ']' || c == '}') --depth;
    if (deepest > kMaxJsonDepth) break;
  }
  return deepest;
}

template <typename J>
Result<J> ParseBody(const HttpRequest& request) {
  if (!request.content_type.empty() && request.content_type.find("json") == std::string::npos)
    return Invalid(fmt::format("Content-Type must be application/json, not '{}'", request.content_type));
  if (request.body.empty()) return Invalid("the request body is empty; a JSON document is expected");
  if (NestingDepth(request.body) > kMaxJsonDepth)
    return Invalid(fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  try {
    return J::parse(request.body);
  } catch (const typename J::exception& e) {
    return Invalid(fmt::format("malformed JSON: {}", e.what()));
  }
}

}  // namespace

Result<Json> ParseJsonBody(const HttpRequest& request) { return ParseBody<Json>(request); }
Result<nlohmann::ordered_json> ParseOrderedJsonBody(const HttpRequest& request) {
  return ParseBody<nlohmann::ordered_json>(request);
}

HttpResponse JsonResponse(int status, const Json& body) {
  return HttpResponse{status, body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json", {}};
}

Result<domain::User> UserFromJson(const Json& json) {
  COHORT_ASSIGN_OR_RETURN(auto r, ObjectReader::Open(json, "", {"id", "name", "email", "birth_year", "address"}));
  domain::User u;
  COHORT_ASSIGN_OR_RETURN(u.id, r.String("id"));
  COHORT_ASSIGN_OR_RETURN(u.name, r.String("name"));
  COHORT_ASSIGN_OR_RETURN(u.email, r.String("email"));
  if (r.Has("birth_year")) {
    COHORT_ASSIGN_OR_RETURN(u.birth_year, r.NullableInt("birth_year"));
  }
  if (!r.Has("address")) return Invalid("missing field 'address'");
  COHORT_ASSIGN_OR_RETURN(u.address, AddressFromJson(r.Get("address")));
  if (auto problem = domain::ValidateUser(u)) return Invalid(*problem);
  return u;
}

Result<domain::UserPatch> UserPatchFromJson(const Json& json) {
  if (json.is_object() && json.contains("id")) return Invalid("field 'id' cannot be changed");
  COHORT_ASSIGN_OR_RETURN(auto r, ObjectReader::Open(json, "", {"name", "email", "birth_year", "address"}));
  domain::UserPatch patch;
  if (r.Has("name")) {
    COHORT_ASSIGN_OR_RETURN(patch.name, r.String("name"));
    if (auto problem = domain::ValidateText("name", *patch.name, 200)) return Invalid(*problem);
  }
  if (r.Has("email")) {
    COHORT_ASSIGN_OR_RETURN(patch.email, r.String("email"));
    if (!domain::IsValidEmail(*patch.email)) return Invalid("field 'email' is not a valid email address");
  }
  if (r.Has("birth_year")) {
    COHORT_ASSIGN_OR_RETURN(patch.birth_year, r.NullableInt("birth_year"));
    if (*patch.birth_year && (**patch.birth_year < 1900 || **patch.birth_year > 2100))
      return Invalid("field 'birth_year' must be between 1900 and 2100");
  }
  if (r.Has("address")) {
    COHORT_ASSIGN_OR_RETURN(patch.address, AddressFromJson(r.Get("address")));
  }
  if (!patch.name && !patch.email && !patch.birth_year && !patch.address)
    return Invalid("nothing to update: send at least one of name, email, birth_year, address");
  return patch;
}

Result<domain::Product> ProductFromJson(const Json& json, std::string_view path) {
  COHORT_ASSIGN_OR_RETURN(auto r, ObjectReader::Open(json, path, {"id", "name", "category", "price"}));
  domain::Product p;
  COHORT_ASSIGN_OR_RETURN(p.id, r.String("id"));
  COHORT_ASSIGN_OR_RETURN(p.name, r.String("name"));
  COHORT_ASSIGN_OR_RETURN(p.category, r.String("category"));
  COHORT_ASSIGN_OR_RETURN(p.price, r.Number("price"));
  if (auto problem = domain::ValidateProduct(p))
    return Invalid(path.empty() ? *problem : fmt::format("{}: {}", path, *problem));
  return p;
}

Json ToJson(const domain::User& user) {
  return Json{{"id", user.id},
              {"name", user.name},
              {"email", user.email},
              {"birth_year", user.birth_year ? Json(*user.birth_year) : Json(nullptr)},
              {"created_at", user.created_at},
              {"address",
               {{"street", user.address.street},
                {"postal_code", user.address.postal_code},
                {"city",
                 {{"name", user.address.city},
                  {"country", {{"code", user.address.country_code}, {"name", user.address.country_name}}}}}}}};
}

Json ToJson(const domain::Product& product) {
  return Json{{"id", product.id}, {"name", product.name}, {"category", product.category}, {"price", product.price}};
}

}  // namespace cohort::api
