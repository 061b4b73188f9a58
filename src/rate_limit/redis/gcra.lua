-- GCRA for one key, atomically: Redis runs a script without interleaving other commands, so
-- instances that check the same key at once each see the other's spending.
--
-- KEYS[1]  the key's theoretical arrival time (TAT): nanoseconds since the Unix epoch, as text
-- ARGV[1]  the emission interval T, in nanoseconds: the window divided by the requests
-- ARGV[2]  the capacity, in nanoseconds: T times the requests, the burst a fresh key may spend
--
-- Returns {allowed (1 or 0), remaining, reset after (ms), retry after (ms)}.
--
-- Lua numbers are doubles, exact only below 2^53: nanoseconds since the epoch are not, so every
-- sum is taken relative to now, where it stays below a day (8.64e13 ns), and the TAT is split
-- into seconds and nanoseconds to be read and written.

-- Replicas and the AOF must receive the SET this script makes, not the script: run again later,
-- it would read another time. That is the default since Redis 5 and the only way since 7 (where
-- this call does nothing); Redis 3.2 and 4 need it asked for before the first write.
if redis.replicate_commands then
    redis.replicate_commands()
end

local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])

-- The server's clock, so that instances whose clocks disagree still share one timeline.
local time = redis.call('TIME')
local now_seconds = tonumber(time[1])
local now_nanos = tonumber(time[2]) * 1000

-- How far the TAT is ahead of now, in nanoseconds: 0 for a key with no TAT, or with one that is
-- not a TAT (it is overwritten); at most the capacity, which it exceeds only when the key's limit
-- was lowered, so that a lowered limit refuses the key for one interval, not for the old window.
local ahead = 0
local stored = redis.call('GET', KEYS[1])
if stored and string.len(stored) >= 10 and string.match(stored, '^%d+$') then
    local seconds = tonumber(string.sub(stored, 1, -10))
    local nanos = tonumber(string.sub(stored, -9))
    ahead = math.min(math.max((seconds - now_seconds) * 1e9 + nanos - now_nanos, 0), capacity)
end

local function millis(nanos)
    return math.ceil(nanos / 1e6)
end

local next_ahead = ahead + interval
if next_ahead > capacity then
    return {0, 0, millis(ahead), millis(next_ahead - capacity)}
end

local tat = now_nanos + next_ahead
local tat_seconds = now_seconds + math.floor(tat / 1e9)
local tat_nanos = tat % 1e9
-- The key expires when its budget is whole again: a key not used since is a fresh key.
redis.call('SET', KEYS[1], string.format('%d%09d', tat_seconds, tat_nanos),
    'PX', math.max(millis(next_ahead), 1))
return {1, math.floor((capacity - next_ahead) / interval), millis(next_ahead), 0}
