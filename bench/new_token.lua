-- Scenarios (b) and (c): a NEW valid token on every request,
--   IGT-17841405793187219-<TOKEN_PREFIX>-<counter>
-- so every validation misses igauth's cache and goes upstream. Give every wrk run its own
-- TOKEN_PREFIX (env) so runs against one igauth never reuse each other's tokens.
local prefix = os.getenv("TOKEN_PREFIX") or tostring(os.time())
local head = '{"id":"17841405793187219","access_token":"IGT-17841405793187219-' .. prefix .. '-'
local headers = {["Content-Type"] = "application/json"}
local counter = 0

request = function()
  counter = counter + 1
  return wrk.format("POST", nil, headers, head .. counter .. '"}')
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "summary.lua")
