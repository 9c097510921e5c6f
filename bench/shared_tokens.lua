-- Scenario (g): cycles through exactly the TOKEN_COUNT tokens that `drive.mjs fill` validated on
-- another replica with the same TOKEN_PREFIX (env), in order,
--   IGT-17841405793187219-<TOKEN_PREFIX>-<0 .. TOKEN_COUNT-1>
-- so every request is a token Redis already holds a verdict for. With the replica's local cache
-- far smaller than TOKEN_COUNT, nearly every request misses locally and is answered from Redis.
local prefix = os.getenv("TOKEN_PREFIX") or error("TOKEN_PREFIX is required")
local count = tonumber(os.getenv("TOKEN_COUNT") or "") or error("TOKEN_COUNT is required")
local head = '{"id":"17841405793187219","access_token":"IGT-17841405793187219-' .. prefix .. '-'
local headers = {["Content-Type"] = "application/json"}
local i = -1

request = function()
  i = (i + 1) % count
  return wrk.format("POST", nil, headers, head .. i .. '"}')
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "summary.lua")
