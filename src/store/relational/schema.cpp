// The relational schema, per dialect. A new migration is appended; an applied one is never edited.

#include "store/relational/schema.hpp"

namespace cohort::store {
namespace {

constexpr sql::Migration kSqlite[] = {
    {1, "countries, cities, addresses, users, products", R"sql(
CREATE TABLE countries (
  code TEXT PRIMARY KEY CHECK (length(code) = 2),
  name TEXT NOT NULL
);
CREATE TABLE cities (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  country_code TEXT NOT NULL REFERENCES countries (code),
  UNIQUE (country_code, name)
);
CREATE TABLE addresses (
  id INTEGER PRIMARY KEY,
  street TEXT NOT NULL,
  postal_code TEXT NOT NULL,
  city_id INTEGER NOT NULL REFERENCES cities (id),
  UNIQUE (city_id, street, postal_code)
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  birth_year INTEGER,
  address_id INTEGER NOT NULL REFERENCES addresses (id),
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_address_id ON users (address_id);
CREATE TABLE products (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  price REAL NOT NULL CHECK (price >= 0)
);
CREATE INDEX products_category ON products (category, id);
)sql"},
    // Moved by every write of products, in its transaction: a process holding the catalogue in memory
    // (sql_relational_store.cpp) reads this one row to learn that another process changed it.
    {2, "the product catalogue's version", R"sql(
CREATE TABLE catalog_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);
)sql"},
};

constexpr sql::Migration kPostgres[] = {
    {1, "countries, cities, addresses, users, products", R"sql(
CREATE TABLE countries (
  code TEXT COLLATE "C" PRIMARY KEY CHECK (length(code) = 2),
  name TEXT NOT NULL
);
CREATE TABLE cities (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT NOT NULL,
  country_code TEXT COLLATE "C" NOT NULL REFERENCES countries (code),
  UNIQUE (country_code, name)
);
CREATE TABLE addresses (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  street TEXT NOT NULL,
  postal_code TEXT NOT NULL,
  city_id BIGINT NOT NULL REFERENCES cities (id),
  UNIQUE (city_id, street, postal_code)
);
CREATE TABLE users (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  birth_year INTEGER,
  address_id BIGINT NOT NULL REFERENCES addresses (id),
  created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_address_id ON users (address_id);
CREATE TABLE products (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  price DOUBLE PRECISION NOT NULL CHECK (price >= 0)
);
CREATE INDEX products_category ON products (category, id);
)sql"},
    {2, "the product catalogue's version", R"sql(
CREATE TABLE catalog_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);
)sql"},
};

}  // namespace

std::span<const sql::Migration> RelationalMigrations(sql::Dialect dialect) {
  if (dialect == sql::Dialect::kSqlite) return kSqlite;
  return kPostgres;
}

}  // namespace cohort::store
