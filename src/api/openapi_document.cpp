#include "api/observability_routes.hpp"

#include <nlohmann/json.hpp>

namespace cohort::api {
namespace {

// The OpenAPI 3.0 document of every route `serve` registers. Keep it in step with the routes: the integration
// test OpenApiTest compares its paths with GET /api/admin/routes and its examples with the server's answers.
// info.version is replaced by the build's version.
constexpr std::string_view kDocument = R"openapi({
 "openapi": "3.0.3",
 "info": {
  "title": "Cohort",
  "description": "Customer intelligence over HTTP. Roles of the API keys: see README.md, Auth.",
  "version": "1"
 },
 "security": [
  {
   "bearer": []
  }
 ],
 "components": {
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer"
   }
  },
  "schemas": {
   "Error": {
    "type": "object",
    "required": [
     "error"
    ],
    "properties": {
     "error": {
      "type": "object",
      "required": [
       "code",
       "message"
      ],
      "properties": {
       "code": {
        "type": "string"
       },
       "message": {
        "type": "string"
       }
      }
     }
    },
    "example": {
     "error": {
      "code": "not_found",
      "message": "no user 'u9'"
     }
    }
   }
  }
 },
 "paths": {
  "/healthz": {
   "get": {
    "summary": "Liveness: 200 while the process is up",
    "operationId": "get_healthz",
    "security": [],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "status": "ok"
        }
       }
      }
     }
    }
   }
  },
  "/readyz": {
   "get": {
    "summary": "Readiness: 200 when every store answers, else 503",
    "operationId": "get_readyz",
    "security": [],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "status": "ready"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/metrics": {
   "get": {
    "summary": "Prometheus text format 0.0.4: requests, latencies, cache, queues, model, store errors",
    "operationId": "get_metrics",
    "responses": {
     "200": {
      "description": "metrics",
      "content": {
       "text/plain; version=0.0.4": {
        "schema": {
         "type": "string"
        },
        "example": "http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 3\n"
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/openapi.json": {
   "get": {
    "summary": "This document",
    "operationId": "get_openapi_json",
    "responses": {
     "200": {
      "description": "the OpenAPI 3.0 document",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/admin/stats": {
   "get": {
    "summary": "Backends and the number of SQL statements sent so far",
    "operationId": "get_api_admin_stats",
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "events": {
          "backend": "sqlite"
         },
         "relational": {
          "backend": "sqlite",
          "statements": 7
         }
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/admin/cache": {
   "get": {
    "summary": "Cache counters per tier",
    "operationId": "get_api_admin_cache",
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "compute_errors": 0,
         "computes": 0,
         "enabled": true,
         "invalidations": 48,
         "l1": {
          "bytes": 0,
          "enabled": true,
          "entries": 0,
          "evictions": 0,
          "expirations": 0,
          "hits": 0,
          "max_bytes": 67108864,
          "misses": 0
         },
         "l2": {
          "bad_replies": 0,
          "breaker": {
           "opens": 0,
           "rejected": 0,
           "state": "closed"
          },
          "commands": 0,
          "connect_failures": 0,
          "decode_errors": 0,
          "enabled": false,
          "errors": 0,
          "hits": 0,
          "misses": 0,
          "open_connections": 0,
          "timeouts": 0
         },
         "pending_invalidations": 0,
         "shared_computes": 0
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/admin/routes": {
   "get": {
    "summary": "Every route the server registers, in registration order",
    "operationId": "get_api_admin_routes",
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "routes": [
          {
           "method": "GET",
           "pattern": "/healthz"
          }
         ]
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/users": {
   "post": {
    "summary": "Create a user with their address",
    "operationId": "post_api_users",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object"
       },
       "example": {
        "id": "u1",
        "name": "Olena",
        "email": "o@x.io",
        "birth_year": 1990,
        "address": {
         "street": "1 A St",
         "postal_code": "01001",
         "city": "Kyiv",
         "country": "UA",
         "country_name": "Ukraine"
        }
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "address": {
          "city": {
           "country": {
            "code": "PL",
            "name": "Poland"
           },
           "name": "Lodz"
          },
          "postal_code": "91793",
          "street": "243 Market Sq"
         },
         "birth_year": 1996,
         "created_at": "2026-12-01T03:34:43Z",
         "email": "katarzyna.smith.1@example.com",
         "id": "u000001",
         "name": "Katarzyna Smith"
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "description": "conflict (duplicate id or email; no model trained yet)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   },
   "get": {
    "summary": "A page of users, by id (keyset pagination)",
    "operationId": "get_api_users",
    "parameters": [
     {
      "name": "country",
      "in": "query",
      "required": false,
      "description": "ISO 3166-1 alpha-2 code",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "city",
      "in": "query",
      "required": false,
      "description": "city name",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "page size (default 50)",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "after",
      "in": "query",
      "required": false,
      "description": "the last id of the previous page",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "items": [
          {
           "address": {
            "city": {
             "country": {
              "code": "PL",
              "name": "Poland"
             },
             "name": "Lodz"
            },
            "postal_code": "91793",
            "street": "243 Market Sq"
           },
           "birth_year": 1996,
           "created_at": "2026-12-01T03:34:43Z",
           "email": "katarzyna.smith.1@example.com",
           "id": "u000001",
           "name": "Katarzyna Smith"
          }
         ],
         "next_after": "u000001"
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/users/{id}": {
   "get": {
    "summary": "One user with their address",
    "operationId": "get_api_users_id",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "the id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "address": {
          "city": {
           "country": {
            "code": "PL",
            "name": "Poland"
           },
           "name": "Lodz"
          },
          "postal_code": "91793",
          "street": "243 Market Sq"
         },
         "birth_year": 1996,
         "created_at": "2026-12-01T03:34:43Z",
         "email": "katarzyna.smith.1@example.com",
         "id": "u000001",
         "name": "Katarzyna Smith"
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   },
   "patch": {
    "summary": "Change name, email, birth_year or the whole address",
    "operationId": "patch_api_users_id",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "the id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object"
       },
       "example": {
        "name": "Olena K."
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "address": {
          "city": {
           "country": {
            "code": "PL",
            "name": "Poland"
           },
           "name": "Lodz"
          },
          "postal_code": "91793",
          "street": "243 Market Sq"
         },
         "birth_year": 1996,
         "created_at": "2026-12-01T03:34:43Z",
         "email": "katarzyna.smith.1@example.com",
         "id": "u000001",
         "name": "Katarzyna Smith"
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "description": "conflict (duplicate id or email; no model trained yet)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   },
   "delete": {
    "summary": "Delete a user",
    "operationId": "delete_api_users_id",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "the id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "204": {
      "description": "done, no content"
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/countries": {
   "get": {
    "summary": "Every country",
    "operationId": "get_api_countries",
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "array"
        },
        "example": [
         {
          "code": "UA",
          "name": "Ukraine"
         }
        ]
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/countries/{code}/cities": {
   "get": {
    "summary": "The cities of a country",
    "operationId": "get_api_countries_code_cities",
    "parameters": [
     {
      "name": "code",
      "in": "path",
      "required": true,
      "description": "ISO 3166-1 alpha-2 code",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "array"
        },
        "example": [
         {
          "country": "UA",
          "id": 12,
          "name": "Kyiv"
         }
        ]
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/products": {
   "post": {
    "summary": "Upsert one product or an array of them, all or none",
    "operationId": "post_api_products",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "array"
       },
       "example": [
        {
         "id": "p1",
         "name": "Mug",
         "category": "kitchen",
         "price": 9.5
        }
       ]
      }
     }
    },
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "upserted": 1
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   },
   "get": {
    "summary": "A page of products, by id",
    "operationId": "get_api_products",
    "parameters": [
     {
      "name": "category",
      "in": "query",
      "required": false,
      "description": "category name",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "page size (default 50)",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "after",
      "in": "query",
      "required": false,
      "description": "the last id of the previous page",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "items": [
          {
           "category": "books",
           "id": "p00001",
           "name": "Nordic Biography 1",
           "price": 11.37
          }
         ],
         "next_after": "p00001"
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/products/{id}": {
   "get": {
    "summary": "One product",
    "operationId": "get_api_products_id",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "the id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "category": "books",
         "id": "p00001",
         "name": "Nordic Biography 1",
         "price": 11.37
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/analytics/users-by-country": {
   "get": {
    "summary": "Users and cities per country, most users first",
    "operationId": "get_api_analytics_users_by_country",
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "array"
        },
        "example": [
         {
          "cities": 7,
          "country": "UA",
          "name": "Ukraine",
          "users": 11
         }
        ]
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/analytics/users-by-city": {
   "get": {
    "summary": "Users per city of a country, most users first",
    "operationId": "get_api_analytics_users_by_city",
    "parameters": [
     {
      "name": "country",
      "in": "query",
      "required": false,
      "description": "ISO 3166-1 alpha-2 code",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "array"
        },
        "example": [
         {
          "city": "Odesa",
          "country": "UA",
          "users": 4
         }
        ]
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/events": {
   "post": {
    "summary": "Ingest one event, an array, or NDJSON (application/x-ndjson)",
    "operationId": "post_api_events",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object"
       },
       "example": {
        "user_id": "u1",
        "type": "purchase",
        "product_id": "p1",
        "price": 9.5,
        "quantity": 1
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "accepted": 1,
         "duplicates": 0,
         "rejected": [],
         "unknown_users": 0
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/users/{id}/events": {
   "get": {
    "summary": "A user's events, newest first",
    "operationId": "get_api_users_id_events",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "the id",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "type",
      "in": "query",
      "required": false,
      "description": "event type, e.g. purchase",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "since",
      "in": "query",
      "required": false,
      "description": "RFC 3339 time: only events at or after it",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "page size (default 100)",
      "schema": {
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "items": [
          {
           "category": "garden",
           "event_id": "d1-2",
           "price": 15.3,
           "product_id": "p00019",
           "properties": {},
           "quantity": 1,
           "ts": "2026-11-28T19:11:21.507480Z",
           "type": "view",
           "user_id": "u000001"
          }
         ]
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/analytics/aggregate": {
   "post": {
    "summary": "Run a read-only aggregation pipeline in MongoDB syntax",
    "operationId": "post_api_analytics_aggregate",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object"
       },
       "example": {
        "pipeline": [
         {
          "$match": {
           "type": "purchase"
          }
         },
         {
          "$limit": 1
         }
        ]
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "results": [
          {
           "category": "garden",
           "event_id": "d1-2",
           "price": 15.3,
           "product_id": "p00019",
           "properties": {},
           "quantity": 1,
           "ts": "2026-11-28T19:11:21.507480Z",
           "type": "view",
           "user_id": "u000001"
          }
         ]
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "description": "a result over pipeline.max_rows",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "504": {
      "description": "a query ran past its time limit",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/analytics/revenue-by-category": {
   "get": {
    "summary": "Purchases grouped by category, largest total first",
    "operationId": "get_api_analytics_revenue_by_category",
    "parameters": [
     {
      "name": "since",
      "in": "query",
      "required": false,
      "description": "RFC 3339 time: only events at or after it",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "array"
        },
        "example": [
         {
          "category": "electronics",
          "count": 26,
          "total": 6167.25
         }
        ]
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/analytics/top-products": {
   "get": {
    "summary": "Products by number of events, most first",
    "operationId": "get_api_analytics_top_products",
    "parameters": [
     {
      "name": "category",
      "in": "query",
      "required": false,
      "description": "category name",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "type",
      "in": "query",
      "required": false,
      "description": "event type (default purchase)",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "since",
      "in": "query",
      "required": false,
      "description": "RFC 3339 time: only events at or after it",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "page size (default 10)",
      "schema": {
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "array"
        },
        "example": [
         {
          "events": 40,
          "product_id": "p00001",
          "quantity": 48,
          "revenue": 545.76
         }
        ]
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/users/{id}/insights": {
   "get": {
    "summary": "Segment, offer, churn risk, P(alive), lifetime value and features of one user",
    "operationId": "get_api_users_id_insights",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "the id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "churn_risk": 0.0224,
         "features": {
          "average_order_value": 0.0,
          "bgnbd": {
           "T": 0.0,
           "monetary": 0.0,
           "t_x": 0.0,
           "x": 0
          },
          "carts_30d": 0,
          "category_shares": [
           {
            "category": "garden",
            "share": 1.0
           }
          ],
          "days_since_activity": 2.35,
          "events": 3,
          "events_30d": 3,
          "events_7d": 3,
          "events_90d": 3,
          "first_activity": "2026-11-28T19:06:57.507480Z",
          "first_purchase": null,
          "last_activity": "2026-11-28T19:11:21.507480Z",
          "last_purchase": null,
          "purchases": 0,
          "repeat_purchases": 0,
          "revenue": 0.0,
          "views_30d": 3
         },
         "generated_at": "2026-12-01T03:34:55.872598Z",
         "goal": "keep and grow",
         "ltv": {
          "method": "simple",
          "probabilistic": null,
          "simple": {
           "expected_order_value": 0.0,
           "expected_purchases": 0.0,
           "horizon_months": 12,
           "method": "simple",
           "value": 0.0
          },
          "value": 0.0
         },
         "model_version": "20261201T033447.187839Z",
         "offer": "Personalised products",
         "p_alive": null,
         "segment": "ACTIVE",
         "user_id": "u000001"
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/users/{id}/personalized-recommendations": {
   "get": {
    "summary": "Segment, offer, lifetime value and recommended products of one user",
    "operationId": "get_api_users_id_personalized_recommendations",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "the id",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "page size (default 10)",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "category",
      "in": "query",
      "required": false,
      "description": "only this category (repeatable)",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "exclude_category",
      "in": "query",
      "required": false,
      "description": "not this category (repeatable)",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "exclude",
      "in": "query",
      "required": false,
      "description": "product ids to leave out, comma-separated",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "explain",
      "in": "query",
      "required": false,
      "description": "true: add each step's source and time",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "user": {
          "id": "u000001",
          "name": "Katarzyna Smith",
          "city": "Lodz",
          "country": "PL"
         },
         "segment": "ACTIVE",
         "offer": "Personalised products",
         "churn_risk": 0.0224,
         "p_alive": 0.93,
         "ltv": {
          "value": 120.5,
          "method": "probabilistic"
         },
         "recommendations": [
          {
           "product_id": "p00001",
           "name": "Nordic Biography 1",
           "category": "books",
           "price": 11.37,
           "score": 0.82,
           "reason": "often bought with what you viewed"
          }
         ],
         "model_version": "20261201T033447.187839Z",
         "generated_at": "2026-12-01T03:34:55.872598Z",
         "degraded": false
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/analytics/segments": {
   "get": {
    "summary": "Users and revenue per segment as scored at the last training",
    "operationId": "get_api_analytics_segments",
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "as_of": "2026-12-01T03:34:47.148933Z",
         "model_version": "20261201T033447.187839Z",
         "segments": [
          {
           "goal": "win back",
           "offer": "We miss you! 30% off",
           "revenue": 948.55,
           "segment": "DORMANT",
           "users": 6
          }
         ]
        }
       }
      }
     },
     "409": {
      "description": "conflict (duplicate id or email; no model trained yet)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/admin/models": {
   "get": {
    "summary": "The model in use and the saved versions",
    "operationId": "get_api_admin_models",
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "current": {
          "bgnbd": {
           "a": 0.384,
           "alpha": 24.9,
           "b": 2.65,
           "fit": {
            "at_bound": false,
            "converged": false,
            "iterations": 0,
            "log_likelihood": 0.0,
            "observations": 0
           },
           "log_likelihood": -791.02,
           "r": 0.99,
           "time_unit": "days"
          },
          "churn": {
           "auc": 0.7,
           "evaluation_rows": 30,
           "fitted": true,
           "training_rows": 18,
           "w0": 2.15,
           "w1": 1.34,
           "w2": 0.0,
           "w3": -4.35
          },
          "events": 3132,
          "gamma_gamma": {
           "fit": {
            "at_bound": false,
            "converged": false,
            "iterations": 0,
            "log_likelihood": 0.0,
            "observations": 0
           },
           "log_likelihood": -164.43,
           "p": 3.04,
           "q": 2.43,
           "v": 31.6
          },
          "recommender": {
           "products": 20
          },
          "segments": {
           "ACTIVE": {
            "revenue": 7123.81,
            "users": 32
           },
           "AT_RISK": {
            "revenue": 950.29,
            "users": 10
           },
           "DORMANT": {
            "revenue": 948.55,
            "users": 6
           },
           "VIP": {
            "revenue": 5313.93,
            "users": 2
           }
          },
          "time_unit": "days",
          "trained_at": "2026-12-01T03:34:47Z",
          "until": "2026-12-01T03:34:47.148933Z",
          "users": 50,
          "version": "20261201T033447.187839Z",
          "vip_revenue_cut": 1743.22
         },
         "versions": [
          {
           "bytes": 14829,
           "trained_at": "2026-12-01T03:34:47Z",
           "version": "20261201T033447.187839Z"
          }
         ]
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/admin/queues": {
   "get": {
    "summary": "Per queue: ready, in flight, retrying, dead-lettered, totals and rates; the outbox backlog",
    "operationId": "get_api_admin_queues",
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "available": true,
         "backend": "sqlite",
         "outbox": {
          "pending": 0,
          "relayed_total": 98
         },
         "queues": [
          {
           "acked_per_s": 15.96,
           "acked_total": 50,
           "dead_lettered": 0,
           "dead_lettered_per_s": 0.0,
           "dead_lettered_total": 0,
           "in_flight": 0,
           "published_per_s": 15.96,
           "published_total": 50,
           "queue": "notifications",
           "ready": 0,
           "retried_per_s": 0.0,
           "retried_total": 0,
           "retrying": 0
          }
         ]
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/admin/dead-letters": {
   "get": {
    "summary": "Parked messages with their error, attempts and times",
    "operationId": "get_api_admin_dead_letters",
    "parameters": [
     {
      "name": "queue",
      "in": "query",
      "required": false,
      "description": "queue name",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "page size (default 100)",
      "schema": {
       "type": "integer"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "items": [
          {
           "id": "7",
           "queue": "notifications",
           "message_id": "3f2a9c1e",
           "type": "user.created",
           "payload": {
            "user_id": "u1"
           },
           "error": "webhook answered 500",
           "attempts": 5,
           "created_at": "2026-12-01T03:00:00Z",
           "first_attempt_at": "2026-12-01T03:00:00Z",
           "dead_lettered_at": "2026-12-01T03:05:00Z"
          }
         ]
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/admin/dead-letters/{id}/replay": {
   "post": {
    "summary": "Send a dead letter back to its queue (attempt 1, same message id)",
    "operationId": "post_api_admin_dead_letters_id_replay",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "the id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "success",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        },
        "example": {
         "replayed": "7"
        }
       }
      }
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/api/admin/dead-letters/{id}": {
   "delete": {
    "summary": "Drop a dead letter for good",
    "operationId": "delete_api_admin_dead_letters_id",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "the id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "204": {
      "description": "done, no content"
     },
     "400": {
      "description": "invalid input",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "description": "a store is unavailable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "missing or unknown API key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "403": {
      "description": "the key's role is too low",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  }
 }
})openapi";

}  // namespace

std::string_view OpenApiDocument() {
  static const std::string document = [] {
    nlohmann::json json = nlohmann::json::parse(kDocument);
    json["info"]["version"] = COHORT_VERSION;
    return json.dump();
  }();
  return document;
}

}  // namespace cohort::api
