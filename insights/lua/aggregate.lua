-- Apply a batch's increments to the site-wide {g} aggregates exactly once.
-- KEYS[1]: watermarks hash ("topic:partition" -> last offset applied); KEYS[2]: asof;
--   KEYS[3..]: the aggregates the batch touches, window sets included (all in {g}).
-- ARGV[1]: ttl seconds of the aggregates; ARGV[2]: JSON blocks; ARGV[3]: today. A block
--   is [partition field, events]; an event is [offset, then ops of 6 values: kind, key,
--   member, amount, day, window]: kind z = ZINCRBY (also into the window sets from
--   KEYS[window], when window > 0), h = HINCRBY, p = PFADD; key indexes KEYS.
-- An event at or below its partition's watermark was applied before: skipped.
-- One JSON argument, not thousands: packing arguments is the client's dominant cost.
local wm = KEYS[1]
local asof = as_of(KEYS[2], ARGV[3])
local applied = 0
for _, block in ipairs(cjson.decode(ARGV[2])) do
  local partition = block[1]
  local mark = tonumber(redis.call('HGET', wm, partition) or '-1')
  local last = mark
  for _, event in ipairs(block[2]) do
    local offset = event[1]
    if offset > mark then
      for i = 2, #event, 6 do
        local kind, key, member = event[i], KEYS[event[i + 1]], event[i + 2]
        if kind == 'z' then
          windowed(asof, key, event[i + 5], event[i + 4], member, event[i + 3])
        elseif kind == 'h' then
          redis.call('HINCRBY', key, member, event[i + 3])
        else
          redis.call('PFADD', key, member)
        end
      end
      applied = applied + 1
      if offset > last then last = offset end
    end
  end
  if last > mark then redis.call('HSET', wm, partition, string.format('%d', last)) end
end
for k = 3, #KEYS do redis.call('EXPIRE', KEYS[k], tonumber(ARGV[1])) end
return applied
