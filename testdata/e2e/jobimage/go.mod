module podtemplate.test/jobimage

go 1.22
