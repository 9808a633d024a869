-- wrk script: GET /api/users/uNNNNNN[SUFFIX] for ids drawn uniformly from u000001..u<max> (default 100000).
--   wrk ... -s random_users.lua URL -- MAX_ID [SUFFIX]      (e.g. SUFFIX = /personalized-recommendations)
-- Each wrk thread draws from its own fixed seed, so runs are repeatable.

local max_id = 100000
local suffix = ""
local next_thread_id = 0

function setup(thread)
  next_thread_id = next_thread_id + 1
  thread:set("thread_id", next_thread_id)
end

function init(args)
  if args[1] ~= nil then
    max_id = tonumber(args[1])
  end
  if args[2] ~= nil then
    suffix = args[2]
  end
  math.randomseed(42 + (thread_id or 0))
end

function request()
  return wrk.format("GET", string.format("/api/users/u%06d%s", math.random(1, max_id), suffix))
end
