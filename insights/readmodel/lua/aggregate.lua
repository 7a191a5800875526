-- Apply a batch's increments to the site-wide {g} aggregates exactly once.
-- KEYS[1]: watermarks hash ("topic:partition" -> last offset applied); KEYS[2]: asof;
--   KEYS[3..]: the aggregates the batch touches, window sets included (all in {g}).
-- ARGV[1]: ttl seconds of the aggregates; ARGV[2]: JSON [[partition field, watermark the
--   caller read (-1: none), last offset of the increments], ...]; ARGV[3]: today;
--   ARGV[4]: JSON flat ops of 6 values: kind, key, member, amount, day, window; kind z =
--   ZINCRBY (also into the window sets from KEYS[window], when window > 0), h = HINCRBY,
--   p = PFADD (also into the window HLLs from KEYS[window]), n = SADD; key indexes KEYS.
-- The caller summed the increments of the events above the watermarks it read. If a
-- watermark moved since (another consumer applied those events), nothing is applied and
-- the stale partition fields are returned: the caller reads again and sums what is left.
local wm = KEYS[1]
local marks = cjson.decode(ARGV[2])
local stale = {}
for _, mark in ipairs(marks) do
  if tonumber(redis.call('HGET', wm, mark[1]) or '-1') ~= mark[2] then
    stale[#stale + 1] = mark[1]
  end
end
if #stale > 0 then return stale end

local asof = as_of(KEYS[2], ARGV[3])
local ops = cjson.decode(ARGV[4])
local hll = {}
for i = 1, #ops, 6 do
  local kind, key, member = ops[i], KEYS[ops[i + 1]], ops[i + 2]
  if kind == 'z' then
    windowed(asof, key, ops[i + 5], ops[i + 4], member, ops[i + 3])
  elseif kind == 'h' then
    redis.call('HINCRBY', key, member, ops[i + 3])
  elseif kind == 'p' then
    local targets, day, window = {key}, ops[i + 4], ops[i + 5]
    for p = 1, #SPANS do
      if day >= asof - SPANS[p] then targets[#targets + 1] = KEYS[window + p - 1] end
    end
    for _, target in ipairs(targets) do
      local members = hll[target]
      if not members then members = {}; hll[target] = members end
      members[#members + 1] = member
    end
  else
    redis.call('SADD', key, member)
  end
end
for key, members in pairs(hll) do
  for first = 1, #members, 500 do
    redis.call('PFADD', key, unpack(members, first, math.min(first + 499, #members)))
  end
end
for _, mark in ipairs(marks) do
  redis.call('HSET', wm, mark[1], string.format('%d', mark[3]))
end
for k = 3, #KEYS do redis.call('EXPIRE', KEYS[k], tonumber(ARGV[1])) end
return stale
