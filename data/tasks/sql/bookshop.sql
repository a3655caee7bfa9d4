-- A small bookshop database for the text-to-SQL task (data/tasks/sql/questions.json).
-- Built into a SQLite file by slm_energy_plugin.quality.datasets.build_sqlite_db.
-- All names and titles are invented.

CREATE TABLE authors (
    author_id   INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    country     TEXT NOT NULL,
    birth_year  INTEGER NOT NULL
);

CREATE TABLE books (
    book_id         INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    author_id       INTEGER NOT NULL REFERENCES authors(author_id),
    genre           TEXT NOT NULL,
    published_year  INTEGER NOT NULL,
    price           REAL NOT NULL,
    pages           INTEGER NOT NULL
);

CREATE TABLE customers (
    customer_id  INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    city         TEXT NOT NULL,
    joined_year  INTEGER NOT NULL
);

CREATE TABLE orders (
    order_id     INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(customer_id),
    order_date   TEXT NOT NULL           -- ISO 8601 date
);

CREATE TABLE order_items (
    order_id  INTEGER NOT NULL REFERENCES orders(order_id),
    book_id   INTEGER NOT NULL REFERENCES books(book_id),
    quantity  INTEGER NOT NULL,
    PRIMARY KEY (order_id, book_id)
);

INSERT INTO authors VALUES
    (1, 'Ines Varga',      'Hungary', 1962),
    (2, 'Tomas Okafor',    'Nigeria', 1975),
    (3, 'Claire Dubois',   'France',  1958),
    (4, 'Henry Marsh',     'Canada',  1981),
    (5, 'Yuki Tanabe',     'Japan',   1969),
    (6, 'Lena Sorensen',   'Denmark', 1990),
    (7, 'Paul Whitaker',   'Canada',  1947),
    (8, 'Ana Ribeiro',     'Brazil',  1984);

INSERT INTO books VALUES
    (1,  'The Glass Orchard',       1, 'Fiction',         1994, 14.50, 320),
    (2,  'Rivers of Salt',          2, 'Fiction',         2008, 18.00, 410),
    (3,  'A Short History of Rain', 3, 'History',         1987, 22.00, 280),
    (4,  'Northern Circuits',       4, 'Science Fiction', 2015, 12.99, 365),
    (5,  'The Lantern Keeper',      5, 'Fiction',         2001,  9.99, 210),
    (6,  'Orbit of Small Things',   4, 'Science Fiction', 2019, 15.75, 298),
    (7,  'Bread and Iron',          3, 'History',         1992, 27.50, 512),
    (8,  'Quiet Algorithms',        6, 'Science',         2021, 31.00, 256),
    (9,  'The Cartographer''s Son', 7, 'Fiction',         1979, 11.25, 388),
    (10, 'Tides of Lisbon',         8, 'Travel',          2018, 19.90, 190),
    (11, 'Seeds of the Delta',      2, 'History',         2012, 24.00, 344),
    (12, 'Moonlight Ferry',         5, 'Fiction',         2010,  8.50, 176),
    (13, 'Cold Fusion Dreams',      6, 'Science Fiction', 2023, 16.40, 402),
    (14, 'Atlas of Forgotten Roads',7, 'Travel',          1985, 29.95, 230),
    (15, 'Counting Stars',          1, 'Science',         2004, 21.00, 305);

INSERT INTO customers VALUES
    (1, 'Mara Lindqvist',  'Stockholm', 2019),
    (2, 'David Chen',      'Toronto',   2020),
    (3, 'Sofia Rossi',     'Milan',     2021),
    (4, 'Omar Haddad',     'Toronto',   2018),
    (5, 'Grace Mbeki',     'Nairobi',   2021),
    (6, 'Lukas Weber',     'Berlin',    2022),
    (7, 'Priya Nair',      'Milan',     2020),
    (8, 'Jonas Berg',      'Stockholm', 2023);

INSERT INTO orders VALUES
    (1,  1, '2022-03-14'),
    (2,  2, '2022-05-02'),
    (3,  1, '2022-11-20'),
    (4,  3, '2023-01-08'),
    (5,  4, '2023-02-17'),
    (6,  5, '2023-04-29'),
    (7,  1, '2023-06-03'),
    (8,  6, '2023-09-12'),
    (9,  2, '2023-12-01'),
    (10, 7, '2024-02-20'),
    (11, 3, '2024-03-15'),
    (12, 4, '2024-05-30');

INSERT INTO order_items VALUES
    (1,  1, 1), (1,  4, 2),
    (2,  2, 1),
    (3,  8, 1), (3, 13, 1),
    (4,  5, 3),
    (5,  3, 1), (5,  7, 1),
    (6,  6, 2),
    (7,  1, 1), (7, 10, 1),
    (8,  4, 1),
    (9, 15, 2), (9,  2, 1),
    (10, 12, 4),
    (11, 6, 1), (11, 8, 1),
    (12, 11, 1);
