-- Store re-computed scores and index values of users, unless a newer rescore already did.
-- KEYS: the sorted sets (``Keys.ranked_sets``: problems per period, engagement, logins,
--       created, locks), then stamps, rolled.
-- ARGV[1]: stamp (µs, taken before the state was read); ARGV[2]: JSON [[id, one value
--   per sorted set, in KEYS order], ...] as strings, "" removing the user from that set;
--   ARGV[3]: the day the scores were computed for.
-- Scores computed for a day before the last midnight roll are stale: refused.
local sets, stamps, rolled = #KEYS - 2, KEYS[#KEYS - 1], KEYS[#KEYS]
if tonumber(ARGV[3]) < tonumber(redis.call('GET', rolled) or '0') then return 0 end
local stamp = tonumber(ARGV[1])
local users = cjson.decode(ARGV[2])
for _, user in ipairs(users) do       -- a caller with another list of sets: nothing applied
  if #user ~= sets + 1 then
    return redis.error_reply('rank.lua: ' .. (#user - 1) .. ' values for ' .. sets .. ' sets')
  end
end
local applied = 0
for _, user in ipairs(users) do
  local id = user[1]
  local seen = tonumber(redis.call('HGET', stamps, id) or '-1')
  if stamp >= seen then
    for k = 1, sets do
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
