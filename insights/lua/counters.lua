-- One user's (or e-mail's) day counters: store recounted values, then answer window sums.
-- KEYS[1]: the counters hash. Fields:
--   DAY (day number) -> "STAMP C1 C2 ...": the stamp of the recount that wrote the day,
--     then its counts in the caller's metric order;
--   "e:SESSION:DAY" -> "STAMP N": JS errors of one of the user's sessions that day (a
--     user's errors per day are the sum over its sessions: metric position 0);
--   "trim" -> the day old fields were last dropped; "q" / "qs" -> the last writer's
--     queries (ARGV[6] as sent) and their sums, kept up to date by every write.
-- ARGV: today, oldest day kept, ttl seconds, stamp (µs, taken before the recount read),
--       JSON {day: [C1, C2, ...]} to store, JSON [[metric position, first day, last day],
--       ...] of the sums to answer, JSON {"SESSION:DAY": N} to store (optional).
-- Values are recounted from PostgreSQL, never increments: a replay rewrites the same
-- numbers. A field is replaced only by a recount read later than the one stored, so a
-- slower concurrent writer cannot put an older count back. The writers ask the same
-- queries all day: their sums are moved by each field's change instead of re-added over
-- every field (a new day changes the queries, and the next write adds them up again).
local key, asked = KEYS[1], ARGV[6]
local stamp = tonumber(ARGV[4])

local function parse(value)
  local numbers = {}
  for token in string.gmatch(value, '%S+') do numbers[#numbers + 1] = tonumber(token) end
  return numbers
end

local function add_to(sums, queries, day, values, position_of)
  for q, query in ipairs(queries) do
    if day >= query[2] and day <= query[3] then
      sums[q] = sums[q] + (values[position_of(query[1])] or 0)
    end
  end
end

local function packed(m) return m > 0 and m + 1 or 0 end      -- after the stamp
local function errors(m) return m == 0 and 2 or 0 end         -- "STAMP N"

local function add_up(queries)
  local sums, all = {}, redis.call('HGETALL', key)
  for q = 1, #queries do sums[q] = 0 end
  for k = 1, #all, 2 do
    local day = tonumber(all[k])
    if day then
      add_to(sums, queries, day, parse(all[k + 1]), packed)
    else
      day = tonumber(string.match(all[k], '^e:.*:(%d+)$'))
      if day then add_to(sums, queries, day, parse(all[k + 1]), errors) end
    end
  end
  return sums
end

local cached = redis.call('HGET', key, 'q') == asked
local sums = cached and parse(redis.call('HGET', key, 'qs')) or nil
local days = ARGV[5] ~= '{}' and cjson.decode(ARGV[5]) or {}
local session_errors = (ARGV[7] or '{}') ~= '{}' and cjson.decode(ARGV[7]) or {}
if sums and next(days) == nil and next(session_errors) == nil then
  return sums                                  -- the common read: nothing to decode
end

local queries = cjson.decode(asked)
if sums and #sums ~= #queries then sums = nil end
local wrote = false

-- Replace a field when this recount is newer; move the sums by the change.
local function store(field, day, values, position_of)
  local old = redis.call('HGET', key, field)
  local before = old and parse(old) or {-1}
  if stamp < before[1] then return end
  redis.call('HSET', key, field, ARGV[4] .. ' ' .. table.concat(values, ' '))
  wrote = true
  if sums then
    local after = {stamp, unpack(values)}
    for q, query in ipairs(queries) do
      local at = position_of(query[1])
      if at > 0 and day >= query[2] and day <= query[3] then
        sums[q] = sums[q] + after[at] - (before[at] or 0)
      end
    end
  end
end

for field, counts in pairs(days) do store(field, tonumber(field), counts, packed) end
for name, count in pairs(session_errors) do
  store('e:' .. name, tonumber(string.match(name, ':(%d+)$')), {count}, errors)
end

if wrote then
  redis.call('EXPIRE', key, tonumber(ARGV[3]))
  if redis.call('HGET', key, 'trim') ~= ARGV[1] then
    local oldest = tonumber(ARGV[2])
    for _, field in ipairs(redis.call('HKEYS', key)) do
      local day = tonumber(field) or tonumber(string.match(field, '^e:.*:(%d+)$'))
      if day and day < oldest then
        redis.call('HDEL', key, field)
        sums = nil         -- a query may reach that far back: add up again
      end
    end
    redis.call('HSET', key, 'trim', ARGV[1])
  end
end

local fresh = not sums
if fresh then sums = add_up(queries) end
if wrote and #queries > 0 then
  if fresh then redis.call('HSET', key, 'q', asked) end
  redis.call('HSET', key, 'qs', table.concat(sums, ' '))
end
return sums
