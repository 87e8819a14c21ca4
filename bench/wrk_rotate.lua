-- wrk script of bench/read_path.py: each request asks for the next of the ids given after `--`,
-- so the load spreads over several rows instead of one cached row.
local paths = {}
local next_index = 1

function init(args)
  for _, id in ipairs(args) do
    paths[#paths + 1] = "/api/appointments/" .. id
  end
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
end
