-- Apply a batch's increments to the site-wide {g} aggregates exactly once.
-- KEYS[1]: watermarks hash ("topic:partition" -> last offset applied).
-- ARGV[1]: number of key names k, ARGV[2..k+1]: key names (all in the {g} slot), then
-- blocks: partition field, number of events, then per event: offset, number of ops,
-- ops of 4 values (kind, key index, member, amount):
--   z = ZINCRBY, h = HINCRBY, p = PFADD (amount ignored).
-- An event at or below its partition's watermark was applied before: skipped.
local wm = KEYS[1]
local nkeys = tonumber(ARGV[1])
local i = nkeys + 2
local applied = 0
while i <= #ARGV do
  local partition, events = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local mark = tonumber(redis.call('HGET', wm, partition) or '-1')
  local last = mark
  for _ = 1, events do
    local offset, nops = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
    i = i + 2
    if offset > mark then
      for _ = 1, nops do
        local kind, key, member = ARGV[i], ARGV[tonumber(ARGV[i + 1]) + 2], ARGV[i + 2]
        if kind == 'z' then
          redis.call('ZINCRBY', key, ARGV[i + 3], member)
        elseif kind == 'h' then
          redis.call('HINCRBY', key, member, ARGV[i + 3])
        else
          redis.call('PFADD', key, member)
        end
        i = i + 4
      end
      applied = applied + 1
      if offset > last then last = offset end
    else
      i = i + 4 * nops
    end
  end
  if last > mark then redis.call('HSET', wm, partition, last) end
end
return applied
