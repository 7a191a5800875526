-- Replace session snapshots and apply the difference of their contributions, atomically.
-- ARGV[1]: number of key names k; ARGV[2..k+1]: key names (all in the {g} slot); then the
-- number of snapshots m; m × (key index, expected old value, new value, ttl s); then
-- increments: (key index, member, amount) until the end.
-- When a snapshot is not what the caller read (another consumer got there first),
-- nothing is applied and the 1-based numbers of the stale snapshots are returned.
local nkeys = tonumber(ARGV[1])
local i = nkeys + 2
local count = tonumber(ARGV[i])
i = i + 1
local stale = {}
for s = 1, count do
  local j = i + (s - 1) * 4
  local current = redis.call('GET', ARGV[tonumber(ARGV[j]) + 2]) or ''
  if current ~= ARGV[j + 1] then stale[#stale + 1] = s end
end
if #stale > 0 then return stale end
for s = 1, count do
  local j = i + (s - 1) * 4
  local key, new = ARGV[tonumber(ARGV[j]) + 2], ARGV[j + 2]
  if new == '' then
    redis.call('DEL', key)
  else
    redis.call('SET', key, new, 'EX', ARGV[j + 3])
  end
end
i = i + count * 4
while i <= #ARGV do
  local key, member = ARGV[tonumber(ARGV[i]) + 2], ARGV[i + 1]
  local score = tonumber(redis.call('ZINCRBY', key, ARGV[i + 2], member))
  if score == 0 then redis.call('ZREM', key, member) end
  i = i + 3
end
return stale
