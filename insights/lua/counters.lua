-- One user's (or e-mail's) day counters: merge absolute values, then answer window sums.
-- KEYS[1]: the counters hash (fields "metric:day" -> count).
-- ARGV: today, oldest day kept, ttl seconds, JSON {field: value} to merge,
--       JSON [[metric, first day, last day], ...] to sum.
-- Values are recomputed from PostgreSQL, never increments: a field only moves up,
-- so a replay or a slower concurrent writer cannot lower or double a count.
local key = KEYS[1]
local merged = 0
for field, value in pairs(cjson.decode(ARGV[4])) do
  local current = tonumber(redis.call('HGET', key, field) or '0')
  if value > current then redis.call('HSET', key, field, string.format('%d', value)) end
  merged = merged + 1
end
if merged > 0 then
  redis.call('EXPIRE', key, tonumber(ARGV[3]))
  if redis.call('HGET', key, 'trim') ~= ARGV[1] then
    local oldest = tonumber(ARGV[2])
    for _, field in ipairs(redis.call('HKEYS', key)) do
      local day = tonumber(string.match(field, ':(%d+)$'))
      if day and day < oldest then redis.call('HDEL', key, field) end
    end
    redis.call('HSET', key, 'trim', ARGV[1])
  end
end
local queries = cjson.decode(ARGV[5])
local sums = {}
if #queries > 0 then
  local by_metric = {}
  local all = redis.call('HGETALL', key)
  for k = 1, #all, 2 do
    local metric, day = string.match(all[k], '^(%a+):(%d+)$')
    if metric then
      local days = by_metric[metric]
      if not days then days = {}; by_metric[metric] = days end
      days[tonumber(day)] = tonumber(all[k + 1])
    end
  end
  for q, query in ipairs(queries) do
    local days, first, last = by_metric[query[1]], query[2], query[3]
    local sum = 0
    if days then
      for day, value in pairs(days) do
        if day >= first and day <= last then sum = sum + value end
      end
    end
    sums[q] = sum
  end
end
return sums
