-- One user's (or e-mail's) day counters: store recounted days, then answer window sums.
-- KEYS[1]: the counters hash (fields "metric:day" -> count, "t:day" -> stamp of that day).
-- ARGV: today, oldest day kept, ttl seconds, stamp (µs, taken before the recount read),
--       JSON {day: {metric: count}} to store, JSON [[metric, first day, last day], ...].
-- Counts are recounted from PostgreSQL, never increments: a replay rewrites the same
-- numbers. A day is replaced only by a recount read later than the one stored, so a
-- slower concurrent writer cannot put an older count back.
local key = KEYS[1]
local stamp = tonumber(ARGV[4])
local stored = 0
for day, counts in pairs(cjson.decode(ARGV[5])) do
  local seen = tonumber(redis.call('HGET', key, 't:' .. day) or '-1')
  if stamp >= seen then
    for metric, count in pairs(counts) do
      if count == 0 then
        redis.call('HDEL', key, metric .. ':' .. day)
      else
        redis.call('HSET', key, metric .. ':' .. day, string.format('%d', count))
      end
    end
    redis.call('HSET', key, 't:' .. day, ARGV[4])
  end
  stored = stored + 1
end
if stored > 0 then
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
local queries = cjson.decode(ARGV[6])
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
