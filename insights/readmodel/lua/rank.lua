-- Store re-computed scores and index values of users, unless a newer rescore already did.
-- KEYS: problems:day, problems:week, problems:month, engagement, logins, created, locks,
--       stamps, rolled
-- ARGV[1]: stamp (µs, taken before the state was read); ARGV[2]: JSON [[id, problem day,
--   week, month, engagement, last-login day, created day, locked until], ...] as strings,
--   "" removing the user from that set; ARGV[3]: the day the scores were computed for.
-- Scores computed for a day before the last midnight roll are stale: refused.
if tonumber(ARGV[3]) < tonumber(redis.call('GET', KEYS[9]) or '0') then return 0 end
local stamp = tonumber(ARGV[1])
local stamps = KEYS[8]
local applied = 0
for _, user in ipairs(cjson.decode(ARGV[2])) do
  local id = user[1]
  local seen = tonumber(redis.call('HGET', stamps, id) or '-1')
  if stamp >= seen then
    for k = 1, 7 do
      local value = user[k + 1]
      if value == '' then
        redis.call('ZREM', KEYS[k], id)
      else
        redis.call('ZADD', KEYS[k], value, id)
      end
    end
    redis.call('HSET', stamps, id, ARGV[1])
    applied = applied + 1
  end
end
return applied
