-- Store re-computed scores and index values of users, unless a newer rescore already did.
-- KEYS: problems:day, problems:week, problems:month, engagement, logins, created, locks, stamps
-- ARGV: stamp (µs of the state read), then per user 8 values:
--   id, problem day, week, month, engagement, last-login day, created day, locked until
-- A value "" removes the user from that set (not ranked / not indexed).
local stamp = tonumber(ARGV[1])
local stamps = KEYS[8]
local applied = 0
for i = 2, #ARGV, 8 do
  local user = ARGV[i]
  local seen = tonumber(redis.call('HGET', stamps, user) or '-1')
  if stamp >= seen then
    for k = 1, 7 do
      local value = ARGV[i + k]
      if value == '' then
        redis.call('ZREM', KEYS[k], user)
      else
        redis.call('ZADD', KEYS[k], value, user)
      end
    end
    redis.call('HSET', stamps, user, stamp)
    applied = applied + 1
  end
end
return applied
