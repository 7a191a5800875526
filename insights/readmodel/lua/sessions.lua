-- Replace session snapshots and apply the difference of their contributions, atomically.
-- KEYS[1]: asof; then the snapshots and the aggregates touched (all in the {g} slot).
-- ARGV[1]: ttl seconds; ARGV[2]: JSON [snapshots, increments]; ARGV[3]: today. A
--   snapshot is [key, expected old value, new value], an increment [key, member,
--   amount, day, window] (window: KEYS index of its day/week/month window sets, or 0);
--   keys are 1-based indexes into KEYS.
-- When a snapshot is not what the caller read (another consumer got there first),
-- nothing is applied and the 1-based numbers of the stale snapshots are returned.
local ttl = tonumber(ARGV[1])
local payload = cjson.decode(ARGV[2])
local snapshots, increments = payload[1], payload[2]
local stale = {}
for s, snap in ipairs(snapshots) do
  local current = redis.call('GET', KEYS[snap[1]]) or ''
  if current ~= snap[2] then stale[#stale + 1] = s end
end
if #stale > 0 then return stale end
for _, snap in ipairs(snapshots) do
  if snap[3] == '' then
    redis.call('DEL', KEYS[snap[1]])
  else
    redis.call('SET', KEYS[snap[1]], snap[3], 'EX', ttl)
  end
end
local asof = as_of(KEYS[1], ARGV[3])
local touched = {}
for _, inc in ipairs(increments) do
  windowed(asof, KEYS[inc[1]], inc[5], inc[4], inc[2], inc[3])
  touched[inc[1]] = true
end
for k in pairs(touched) do redis.call('EXPIRE', KEYS[k], ttl) end
return stale
