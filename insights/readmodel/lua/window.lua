-- Shared by aggregate.lua and sessions.lua (prepended to each): window sets.
-- A day sorted set's increment also goes to the window sets (day, week, month)
-- whose window, as of the day in the asof key, holds that day; the midnight roll
-- (roll.lua) moves asof and subtracts the days that leave.
-- Days before today where the day, week and month windows start, generated from
-- scoring.windows.WINDOW_STARTS by the script loader (insights.readmodel.redisdb).
local SPANS = {@SPANS@}
local function windowed(asof, day_key, wbase, day, member, amount)
  local score = tonumber(redis.call('ZINCRBY', day_key, amount, member))
  if score == 0 then redis.call('ZREM', day_key, member) end
  if wbase > 0 then
    for p = 1, #SPANS do
      if day >= asof - SPANS[p] then
        local window = KEYS[wbase + p - 1]
        local total = tonumber(redis.call('ZINCRBY', window, amount, member))
        if total <= 0 then redis.call('ZREM', window, member) end
      end
    end
  end
end
local function as_of(key, today)
  local asof = redis.call('GET', key)
  if asof then return tonumber(asof) end
  redis.call('SET', key, today)
  return tonumber(today)
end
