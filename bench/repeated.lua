-- Scenario (a): one token, the same body on every request. After the first call every
-- validation is a cache hit (for the Node contender every call still goes upstream).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":"17841405793187219","access_token":"IGT-17841405793187219-repeated"}'

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "summary.lua")
