-- Replace session snapshots and apply the difference of their contributions, atomically.
-- ARGV[1]: JSON [key names (all in the {g} slot), snapshots, increments]; a snapshot is
--   [key index, expected old value, new value, ttl s], an increment
--   [key index, member, amount]; key indexes are 0-based.
-- When a snapshot is not what the caller read (another consumer got there first),
-- nothing is applied and the 1-based numbers of the stale snapshots are returned.
local payload = cjson.decode(ARGV[1])
local names, snapshots, increments = payload[1], payload[2], payload[3]
local stale = {}
for s, snap in ipairs(snapshots) do
  local current = redis.call('GET', names[snap[1] + 1]) or ''
  if current ~= snap[2] then stale[#stale + 1] = s end
end
if #stale > 0 then return stale end
for _, snap in ipairs(snapshots) do
  local key = names[snap[1] + 1]
  if snap[3] == '' then
    redis.call('DEL', key)
  else
    redis.call('SET', key, snap[3], 'EX', snap[4])
  end
end
for _, inc in ipairs(increments) do
  local key, member = names[inc[1] + 1], inc[2]
  local score = tonumber(redis.call('ZINCRBY', key, inc[3], member))
  if score == 0 then redis.call('ZREM', key, member) end
end
return stale
